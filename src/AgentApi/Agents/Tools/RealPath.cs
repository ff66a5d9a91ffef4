namespace AgentApi.Agents.Tools;

/// <summary>
/// Resolves a full path to the path it names on disk, with every symbolic link along it
/// replaced by its target, like POSIX <c>realpath</c>. Components that do not exist are kept
/// as written, so the result also works for a file about to be created.
/// </summary>
internal static class RealPath
{
    /// <summary>The same limit on followed links as Linux's <c>ELOOP</c> (40).</summary>
    private const int MaxLinks = 40;

    public static string Resolve(string fullPath)
    {
        var root = Path.GetPathRoot(fullPath)
            ?? throw new ArgumentException($"'{fullPath}' is not a full path.", nameof(fullPath));
        var pending = new Stack<string>();
        PushComponents(pending, fullPath[root.Length..]);

        var current = root;
        var currentExists = true;
        var linksFollowed = 0;
        while (pending.TryPop(out var component))
        {
            if (component is "" or ".")
            {
                continue;
            }

            // A link target's ".." is taken after the link is resolved, as the kernel does it.
            // `current` never contains a link, so its lexical parent is its parent on disk.
            if (component == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                currentExists = Directory.Exists(current);
                continue;
            }

            var candidate = Path.Join(current, component);
            if (!currentExists)
            {
                current = candidate;
                continue;
            }

            var linkTarget = new FileInfo(candidate).LinkTarget;
            if (linkTarget is null)
            {
                currentExists = File.Exists(candidate) || Directory.Exists(candidate);
                current = candidate;
                continue;
            }

            if (++linksFollowed > MaxLinks)
            {
                throw new ToolException(
                    "invalid_path",
                    $"More than {MaxLinks} symbolic links had to be followed to resolve the path. It probably contains a link loop.");
            }

            // A relative target is relative to the folder that contains the link, which is `current`.
            if (Path.IsPathRooted(linkTarget))
            {
                current = Path.GetPathRoot(linkTarget)!;
                linkTarget = linkTarget[current.Length..];
            }

            PushComponents(pending, linkTarget);
        }

        return current;
    }

    private static void PushComponents(Stack<string> pending, string relativePath)
    {
        var components = relativePath.Split(
            [Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar],
            StringSplitOptions.RemoveEmptyEntries);
        for (var i = components.Length - 1; i >= 0; i--)
        {
            pending.Push(components[i]);
        }
    }
}

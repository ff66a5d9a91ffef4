namespace AgentApi.Agents.Tools;

/// <summary>
/// A task's workspace folder and the sandbox rule of the file tools: every path argument is
/// relative to the folder and must stay inside it, also after symbolic links are resolved.
/// </summary>
/// <remarks>
/// NOTE: the check and the file operation that follows are two steps, so a link swapped in
/// between them (for example by a concurrent <c>bash</c> command) is not caught.
/// </remarks>
public sealed class Workspace
{
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private readonly string _rootWithSeparator;

    /// <summary>Opens the workspace at <paramref name="rootPath"/>, which must be a full path of an existing folder.</summary>
    /// <exception cref="ToolException"><c>not_found</c> when the folder does not exist.</exception>
    public Workspace(string rootPath)
    {
        if (!Path.IsPathFullyQualified(rootPath))
        {
            throw new ArgumentException($"The workspace path '{rootPath}' is not a full path.", nameof(rootPath));
        }

        Root = RealPath.Resolve(Path.GetFullPath(rootPath));
        if (!Directory.Exists(Root))
        {
            throw new ToolException("not_found", "The workspace folder does not exist any more.");
        }

        _rootWithSeparator = Path.EndsInDirectorySeparator(Root) ? Root : Root + Path.DirectorySeparatorChar;
    }

    /// <summary>Full path of the workspace folder, with symbolic links resolved.</summary>
    public string Root { get; }

    /// <summary>
    /// Resolves a path argument to the full path it names on disk, with symbolic links resolved.
    /// An empty path or <c>.</c> is the workspace folder itself. The path need not exist.
    /// </summary>
    /// <exception cref="ToolException">
    /// <c>outside_workspace</c> for an absolute path, for <c>..</c> that leaves the workspace,
    /// and for a symbolic link anywhere along the path whose target is outside it;
    /// <c>invalid_argument</c> for a path with a NUL character.
    /// </exception>
    public string ResolvePath(string path)
    {
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ToolException("invalid_argument", "The path contains a NUL character.");
        }

        if (Path.IsPathRooted(path))
        {
            throw new ToolException(
                "outside_workspace",
                $"'{path}' is an absolute path. Give a path relative to the workspace folder, such as 'src/main.py'.");
        }

        var fullPath = Path.GetFullPath(Path.Join(Root, path));
        if (!Contains(fullPath))
        {
            throw new ToolException(
                "outside_workspace",
                $"'{path}' leaves the workspace folder. Give a path relative to the workspace folder, without '..' above it.");
        }

        var realPath = RealPath.Resolve(fullPath);
        if (!Contains(realPath))
        {
            throw new ToolException(
                "outside_workspace",
                $"'{path}' is, or goes through, a symbolic link whose target is outside the workspace folder.");
        }

        return realPath;
    }

    /// <summary>Whether <paramref name="fullPath"/> is the workspace folder or below it, compared as written.</summary>
    public bool Contains(string fullPath) =>
        string.Equals(Path.TrimEndingDirectorySeparator(fullPath), Path.TrimEndingDirectorySeparator(Root), PathComparison)
        || fullPath.StartsWith(_rootWithSeparator, PathComparison);

    /// <summary>Returns the path of a file under the workspace relative to its folder, with <c>/</c> separators; <c>.</c> for the folder itself.</summary>
    public string GetRelativePath(string fullPath) =>
        Path.GetRelativePath(Root, fullPath).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>
    /// Classifies one entry found by enumerating a folder inside the workspace. A symbolic link
    /// counts only when its target exists inside the workspace. Any other link is
    /// <see cref="WorkspaceEntryKind.Skipped"/>.
    /// </summary>
    internal WorkspaceEntry Classify(FileSystemInfo entry)
    {
        if (entry.LinkTarget is null)
        {
            var kind = entry is DirectoryInfo ? WorkspaceEntryKind.Directory : WorkspaceEntryKind.File;
            return new WorkspaceEntry(entry.FullName, entry.FullName, kind, IsLink: false);
        }

        string realPath;
        try
        {
            realPath = RealPath.Resolve(entry.FullName);
        }
        catch (ToolException)
        {
            return WorkspaceEntry.Skip(entry.FullName);
        }

        if (!Contains(realPath))
        {
            return WorkspaceEntry.Skip(entry.FullName);
        }

        if (Directory.Exists(realPath))
        {
            return new WorkspaceEntry(entry.FullName, realPath, WorkspaceEntryKind.Directory, IsLink: true);
        }

        return File.Exists(realPath)
            ? new WorkspaceEntry(entry.FullName, realPath, WorkspaceEntryKind.File, IsLink: true)
            : WorkspaceEntry.Skip(entry.FullName);
    }

    /// <summary>Enumerates the entries of a folder, dot files included, without recursing.</summary>
    internal IEnumerable<WorkspaceEntry> EnumerateEntries(string directoryRealPath) =>
        new DirectoryInfo(directoryRealPath)
            .EnumerateFileSystemInfos("*", EntryEnumeration)
            .Select(Classify)
            .Where(entry => entry.Kind != WorkspaceEntryKind.Skipped);

    private static readonly EnumerationOptions EntryEnumeration = new()
    {
        // The default skips hidden entries, which on Unix are the dot files.
        AttributesToSkip = 0,
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
    };
}

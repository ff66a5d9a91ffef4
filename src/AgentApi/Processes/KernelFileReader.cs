using System.Collections.Concurrent;

namespace AgentApi.Processes;

/// <summary>
/// Reads small files of <c>/proc</c> and <c>/sys</c> below a root directory, so tests can point it at
/// a fixture tree. A missing or unreadable file reads as null, and an unreadable or invalid file
/// is logged once per reader.
/// </summary>
internal sealed class KernelFileReader(string rootDirectory, ILogger logger)
{
    private const int MaxLoggedContentLength = 64;

    private readonly ConcurrentDictionary<string, byte> _loggedPaths = new(StringComparer.Ordinal);

    /// <summary>Returns the real path of <paramref name="absolutePath"/>, an absolute path inside the root.</summary>
    public string Resolve(string absolutePath) => Path.Join(rootDirectory, absolutePath.TrimStart('/'));

    public bool DirectoryExists(string absolutePath) => Directory.Exists(Resolve(absolutePath));

    /// <summary>Returns the file's text, or null when it is missing or cannot be read.</summary>
    public string? ReadText(string absolutePath)
    {
        var path = Resolve(absolutePath);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            // Files that do not apply to this kernel, cgroup version or cgroup are simply absent.
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            if (_loggedPaths.TryAdd(path, 0))
            {
                ProcessesLog.FileUnreadable(logger, path, exception);
            }

            return null;
        }
    }

    /// <summary>Returns the file's lines, or null when it is missing or cannot be read.</summary>
    public IReadOnlyList<string>? ReadLines(string absolutePath) =>
        ReadText(absolutePath)?.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Logs, once per file, that <paramref name="absolutePath"/> contains something other than <paramref name="expected"/>.</summary>
    public void ReportInvalid(string absolutePath, string content, string expected)
    {
        var path = Resolve(absolutePath);
        if (_loggedPaths.TryAdd(path, 0))
        {
            var shown = content.Length > MaxLoggedContentLength ? content[..MaxLoggedContentLength] + "…" : content;
            ProcessesLog.ValueInvalid(logger, path, shown.Trim(), expected);
        }
    }
}

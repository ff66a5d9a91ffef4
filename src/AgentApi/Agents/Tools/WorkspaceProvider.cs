using System.Text.RegularExpressions;

namespace AgentApi.Agents.Tools;

/// <summary>
/// Hands out workspace folders below <see cref="ToolOptions.WorkspaceRoot"/>, one per workspace
/// name, creating them on first use.
/// </summary>
public sealed partial class WorkspaceProvider
{
    /// <summary>Creates a provider for workspaces below <paramref name="rootPath"/>, which must be a full path. The folder is created when missing.</summary>
    public WorkspaceProvider(string rootPath)
    {
        if (!Path.IsPathFullyQualified(rootPath))
        {
            throw new ArgumentException($"The workspace root '{rootPath}' is not a full path.", nameof(rootPath));
        }

        RootPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootPath));
    }

    /// <summary>Full path of the folder that contains the workspaces.</summary>
    public string RootPath { get; }

    /// <summary>
    /// Returns the full path of the workspace folder for <paramref name="workspaceName"/> and
    /// creates it when missing. A name is 1 to 64 characters of <c>A-Z</c>, <c>a-z</c>,
    /// <c>0-9</c>, <c>.</c>, <c>_</c> and <c>-</c>, and is neither <c>.</c> nor <c>..</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is invalid.</exception>
    /// <exception cref="InvalidOperationException">The workspace path exists as a symbolic link or a file.</exception>
    public string GetPath(string workspaceName)
    {
        if (!IsValidName(workspaceName))
        {
            throw new ArgumentException(
                $"The workspace name '{workspaceName}' is invalid. Use 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', other than '.' and '..'.",
                nameof(workspaceName));
        }

        var path = Path.Join(RootPath, workspaceName);

        // Commands run by the bash tool can write anywhere the service can, including here, and a
        // link in place of the folder would move the whole workspace somewhere else.
        var existing = new DirectoryInfo(path);
        if (existing.LinkTarget is not null || File.Exists(path))
        {
            throw new InvalidOperationException($"The workspace path '{path}' exists but is not a folder. Remove it so that the folder can be created.");
        }

        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Whether <paramref name="workspaceName"/> is a valid workspace name for <see cref="GetPath"/>.</summary>
    public static bool IsValidName(string? workspaceName) =>
        workspaceName is not null and not "." and not ".." && NamePattern().IsMatch(workspaceName);

    /// <summary>
    /// Returns the full path of the workspace root: <see cref="ToolOptions.WorkspaceRoot"/>
    /// resolved against <paramref name="contentRootPath"/>, or by default the
    /// <c>workspaces</c> folder under <paramref name="dataDirectory"/> resolved against the working
    /// directory, the way the storage resolves it.
    /// </summary>
    public static string ResolveRootPath(string? workspaceRoot, string dataDirectory, string contentRootPath) =>
        string.IsNullOrWhiteSpace(workspaceRoot)
            ? Path.Join(Path.GetFullPath(dataDirectory), ToolOptions.DefaultWorkspaceFolderName)
            : Path.GetFullPath(workspaceRoot, contentRootPath);

    // \z, not $: in .NET, $ also matches before a final newline.
    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}

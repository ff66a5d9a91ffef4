namespace AgentApi.Agents.Tools;

/// <summary>One entry of a workspace folder.</summary>
/// <param name="Path">Full path of the entry as listed, below the workspace folder.</param>
/// <param name="RealPath">Full path with symbolic links resolved. Equal to <paramref name="Path"/> for an entry that is not a link.</param>
/// <param name="Kind">What the entry is, or resolves to.</param>
/// <param name="IsLink">Whether the entry is a symbolic link with its target inside the workspace.</param>
internal sealed record WorkspaceEntry(string Path, string RealPath, WorkspaceEntryKind Kind, bool IsLink)
{
    public static WorkspaceEntry Skip(string path) => new(path, path, WorkspaceEntryKind.Skipped, IsLink: true);
}

namespace AgentApi.Agents.Tools;

/// <summary>What a <see cref="WorkspaceEntry"/> is.</summary>
internal enum WorkspaceEntryKind
{
    /// <summary>A file, or another entry that is not a folder, such as a named pipe.</summary>
    File,

    /// <summary>A folder.</summary>
    Directory,

    /// <summary>A symbolic link whose target is outside the workspace, missing, or part of a loop.</summary>
    Skipped,
}

namespace AgentApi.Agents.Files;

/// <summary>What one read of the agent folder found.</summary>
/// <param name="Exists">Whether the folder exists. When it does not, both lists are empty.</param>
/// <param name="Agents">The usable definitions, at most one per name, in file-name order.</param>
/// <param name="Broken">The files that were skipped, with their reasons, in file-name order.</param>
internal sealed record AgentDirectoryContents(
    bool Exists,
    IReadOnlyList<AgentDefinition> Agents,
    IReadOnlyList<BrokenAgentFile> Broken);

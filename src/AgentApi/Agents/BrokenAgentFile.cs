namespace AgentApi.Agents;

/// <summary>An agent file that was skipped, with the reason it could not be used.</summary>
/// <param name="File">The full path of the file.</param>
/// <param name="Reason">What is wrong with it, without the file's content.</param>
public sealed record BrokenAgentFile(string File, string Reason);

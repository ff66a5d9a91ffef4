namespace AgentApi.Agents;

/// <summary>Runs one child task of the current run and waits for it: what spawn_subagent and ask_agent call.</summary>
public interface ISubtaskRunner
{
    /// <summary>
    /// Stores a child task of the running task, runs it in <paramref name="lane"/> in a fresh
    /// session, and returns how it ended. Throws <see cref="Tools.ToolException"/> when a limit
    /// on children or on waiting spawns is reached.
    /// </summary>
    Task<SubtaskOutcome> RunAsync(string agent, string input, string lane, CancellationToken cancellationToken);
}

/// <summary>How a child task ended: its status and result text, or its error.</summary>
public sealed record SubtaskOutcome(Guid TaskId, string Agent, string Status, string? Text, string? ErrorType, string? ErrorMessage)
{
    public bool Succeeded => Status == "succeeded";
}

namespace AgentApi.Agents.Tools;

/// <summary>The details of the run that a tool call receives.</summary>
/// <param name="TaskId">The task whose agent calls the tool.</param>
/// <param name="AgentName">The calling agent.</param>
/// <param name="SessionKey">The session of the run; subagent sessions contain <c>:subagent:</c>.</param>
/// <param name="WorkspacePath">Full path of the task's workspace folder; file tools stay inside it.</param>
public sealed record ToolContext(Guid TaskId, string AgentName, string SessionKey, string WorkspacePath)
{
    /// <summary>Whether the run is a subagent's, which may not spawn subagents.</summary>
    public bool IsSubagentSession => SessionKeys.IsSubagent(SessionKey);

    /// <summary>Starts child tasks of the run, for spawn_subagent and ask_agent; null when the run may start none.</summary>
    public ISubtaskRunner? Subtasks { get; init; }
}

namespace AgentApi.Agents;

/// <summary>What one run gets besides its task: where to report, the tree's token budget, and how to start child work.</summary>
/// <param name="Observer">Hears the run's model and tool calls; null records nothing.</param>
/// <param name="Budget">The tree's budget; null means no limit.</param>
/// <param name="Subtasks">Starts child tasks for spawn_subagent and ask_agent; null when the run may start none.</param>
public sealed record AgentRunContext(IAgentRunObserver? Observer, TokenBudget? Budget, ISubtaskRunner? Subtasks = null)
{
    public static readonly AgentRunContext None = new(null, null);
}

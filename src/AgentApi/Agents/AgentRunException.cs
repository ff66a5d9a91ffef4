namespace AgentApi.Agents;

/// <summary>
/// Ends a run with a stored error that another attempt would not fix, such as <c>step_limit</c>,
/// <c>max_turns</c>, <c>budget_exceeded</c> or <c>invalid_plan</c>.
/// </summary>
public sealed class AgentRunException(string errorType, string message) : Exception(message)
{
    public string ErrorType { get; } = errorType;

    /// <summary>Whether the run ran past a time limit of its own, so the task ends <c>timed_out</c> rather than <c>failed</c>.</summary>
    public bool IsTimeout { get; init; }
}

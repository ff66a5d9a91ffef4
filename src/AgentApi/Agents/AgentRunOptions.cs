namespace AgentApi.Agents;

/// <summary>Settings under <c>Agents</c> for every run's tool loop.</summary>
public sealed class AgentRunOptions
{
    public const string SectionName = "Agents";
    public const int DefaultMaxTurns = 25;
    public const int DefaultMaxIdenticalToolCalls = 3;
    public const int DefaultMaxHistoryMessages = 40;

    /// <summary>Model round trips of one run when its agent sets no <c>maxTurns</c>. Defaults to 25.</summary>
    public int MaxTurns { get; set; } = DefaultMaxTurns;

    /// <summary>
    /// The run stops with <c>step_limit</c> when the model makes the same tool call, with the same
    /// arguments, this many times. Defaults to 3.
    /// </summary>
    public int MaxIdenticalToolCalls { get; set; } = DefaultMaxIdenticalToolCalls;

    /// <summary>Earlier messages of the session sent before a new task's input. Defaults to 40.</summary>
    public int MaxHistoryMessages { get; set; } = DefaultMaxHistoryMessages;

    /// <summary>Longest one tool call may take before it returns a timeout error to the model. Defaults to 5 minutes.</summary>
    public TimeSpan ToolCallTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

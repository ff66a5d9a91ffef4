namespace AgentApi.Agents;

/// <summary>The final reply of an agent run, with the tokens of every model call it made.</summary>
public sealed record AgentRunResult(string Text, string? Model, long? InputTokens, long? OutputTokens)
{
    /// <summary>Model round trips the run made.</summary>
    public int Turns { get; init; } = 1;

    /// <summary>Whether the text combines only some children's results because others failed.</summary>
    public bool Partial { get; init; }

    /// <summary>The run's session transcript entries, stored with the task's outcome; empty when the task has no session.</summary>
    public IReadOnlyList<Sessions.SessionMessage> Transcript { get; init; } = [];
}

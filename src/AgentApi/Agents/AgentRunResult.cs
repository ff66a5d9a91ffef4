namespace AgentApi.Agents;

/// <summary>The final reply of an agent run.</summary>
public sealed record AgentRunResult(string Text, string? Model, long? InputTokens, long? OutputTokens);

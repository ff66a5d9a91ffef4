using AgentApi.Agents.Models;

namespace AgentApi.Agents;

/// <summary>Hears what a run does, so the task can record it: model calls with their usage, tool calls and the model's text as it arrives.</summary>
public interface IAgentRunObserver : IRateLimitObserver, IModelOutputObserver
{
    void OnModelCall(ModelCallRecord call);

    void OnToolCall(ToolCallRecord call);

    /// <summary>Records another event of the run, such as a process agent's <c>process_started</c>, with the task's next write.</summary>
    void OnEvent(string type, object data);

    /// <summary>Called between turns, when the run is about to call its model again: a good moment to store what was heard.</summary>
    ValueTask OnTurnEndedAsync(CancellationToken cancellationToken);
}

/// <summary>One model call of a run.</summary>
public sealed record ModelCallRecord(int Turn, string? Model, long InputTokens, long OutputTokens, long DurationMs, string Purpose);

/// <summary>One tool call of a run; <paramref name="ErrorCode"/> is null when the tool succeeded.</summary>
public sealed record ToolCallRecord(int Turn, string Tool, string? ErrorCode, long DurationMs);

using System.Text.Json;

namespace AgentApi.Agents.Sessions;

/// <summary>A session in <c>GET /api/sessions</c>.</summary>
public sealed record SessionSummaryResponse(
    string Key,
    string Agent,
    string Kind,
    int MessageCount,
    DateTimeOffset StartedAt,
    DateTimeOffset LastMessageAt);

/// <summary>One transcript entry: a message, a tool call (an assistant entry with <c>toolCall</c>) or a tool result.</summary>
public sealed record SessionMessageResponse(
    long Id,
    Guid TaskId,
    string Role,
    string? Text,
    SessionToolCallResponse? ToolCall,
    DateTimeOffset CreatedAt);

public sealed record SessionToolCallResponse(string Name, string? CallId, JsonElement? Arguments, bool IsError);

/// <summary><c>GET /api/sessions/{key}</c>: the session and its transcript, oldest first.</summary>
public sealed record SessionResponse(
    string Key,
    string Agent,
    string Kind,
    IReadOnlyList<SessionMessageResponse> Messages,
    long? NextAfter);

/// <summary>One page of <c>GET /api/sessions</c>.</summary>
public sealed record SessionPageResponse(IReadOnlyList<SessionSummaryResponse> Items);

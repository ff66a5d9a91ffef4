namespace AgentApi.Agents.Sessions;

/// <summary>One entry of a session's transcript: a message, a tool call or a tool result.</summary>
public sealed class SessionMessage
{
    /// <summary>Grows with every stored message, so it orders a session's transcript.</summary>
    public long Id { get; set; }

    public required string SessionKey { get; set; }

    /// <summary>The agent whose session it is.</summary>
    public required string Agent { get; set; }

    /// <summary>The task whose run wrote the message.</summary>
    public Guid TaskId { get; set; }

    /// <summary><c>user</c>, <c>assistant</c> or <c>tool</c>.</summary>
    public required string Role { get; set; }

    public string? Text { get; set; }

    /// <summary>The tool an assistant message calls, or the tool whose result a tool message carries.</summary>
    public string? ToolName { get; set; }

    public string? ToolCallId { get; set; }

    /// <summary>The JSON arguments of a tool call.</summary>
    public string? ToolArgumentsJson { get; set; }

    /// <summary>Whether a tool result reports a failure.</summary>
    public bool IsError { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

using System.Text.Json;
using AgentApi.Tasks;
using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Sessions;

/// <summary>Collects the transcript entries of one run, stored together when the run ends.</summary>
internal sealed class SessionTranscriptBuilder(AgentTask task, string agent, TimeProvider timeProvider)
{
    // The column sizes; the model chooses both values, so they are cut to fit.
    private const int MaxToolNameLength = 64;
    private const int MaxToolCallIdLength = 128;

    private readonly List<SessionMessage> _messages = [];

    public IReadOnlyList<SessionMessage> Messages => _messages;

    public void AddUser(string text) => Add(ChatRole.User.Value, text);

    public void AddAssistant(string text, IReadOnlyList<FunctionCallContent> calls)
    {
        if (!string.IsNullOrEmpty(text) || calls.Count == 0)
        {
            Add(ChatRole.Assistant.Value, text);
        }

        foreach (var call in calls)
        {
            var message = Add(ChatRole.Assistant.Value, null);
            message.ToolName = Cut(call.Name, MaxToolNameLength);
            message.ToolCallId = Cut(call.CallId, MaxToolCallIdLength);
            message.ToolArgumentsJson = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>());
        }
    }

    public void AddToolResult(FunctionCallContent call, string text, bool isError)
    {
        var message = Add(ChatRole.Tool.Value, text);
        message.ToolName = Cut(call.Name, MaxToolNameLength);
        message.ToolCallId = Cut(call.CallId, MaxToolCallIdLength);
        message.IsError = isError;
    }

    private static string? Cut(string? value, int maxLength) =>
        value is { Length: var length } && length > maxLength ? value[..maxLength] : value;

    private SessionMessage Add(string role, string? text)
    {
        var message = new SessionMessage
        {
            SessionKey = task.TranscriptKey!,
            Agent = agent,
            TaskId = task.Id,
            Role = role,
            Text = text,
            CreatedAt = timeProvider.GetUtcNow(),
        };
        _messages.Add(message);
        return message;
    }
}

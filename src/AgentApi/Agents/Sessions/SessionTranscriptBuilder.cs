using System.Text.Json;
using AgentApi.Tasks;
using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Sessions;

/// <summary>Collects the transcript entries of one run, stored together when the run ends.</summary>
internal sealed class SessionTranscriptBuilder(AgentTask task, string agent, TimeProvider timeProvider)
{
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
            message.ToolName = call.Name;
            message.ToolCallId = call.CallId;
            message.ToolArgumentsJson = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>());
        }
    }

    public void AddToolResult(FunctionCallContent call, string text, bool isError)
    {
        var message = Add(ChatRole.Tool.Value, text);
        message.ToolName = call.Name;
        message.ToolCallId = call.CallId;
        message.IsError = isError;
    }

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

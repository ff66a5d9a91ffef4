using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Models;

/// <summary>
/// Asks the model for a streamed reply when a call carries an <see cref="IModelOutputObserver"/>,
/// passes the text on as it arrives, and returns the whole reply as one response, so callers
/// need not know whether the model streamed.
/// </summary>
public sealed class StreamingOutputChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (options?.AdditionalProperties?.TryGetValue(IModelOutputObserver.OptionsKey, out var value) != true
            || value is not IModelOutputObserver observer)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }

        List<ChatResponseUpdate> updates = [];
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
            if (update.Text is { Length: > 0 } text)
            {
                observer.OnOutput(text);
            }
        }

        return updates.ToChatResponse();
    }
}

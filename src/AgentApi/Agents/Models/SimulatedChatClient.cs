using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Models;

/// <summary>
/// A deterministic local model: after a fixed latency it replies with text derived from the last
/// user message, and the reply states that it is simulated. It lets the service run end to end with
/// no network and no key.
/// </summary>
public sealed class SimulatedChatClient(TimeSpan latency, TimeProvider timeProvider) : IChatClient
{
    public const string ModelId = "simulated";
    private const int EchoLength = 160;
    private const int MaxPlannedSubtasks = 3;

    /// <summary>The schema name of the supervisor's plan requests.</summary>
    private const string PlanSchemaName = "plan";

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var messageList = messages.ToList();
        await DelayAsync(latency, cancellationToken);

        var text = options?.ResponseFormat is ChatResponseFormatJson { SchemaName: PlanSchemaName }
            ? ComposePlan(messageList)
            : Compose(messageList);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = ModelId,
            FinishReason = ChatFinishReason.Stop,
            Usage = CountUsage(messageList, text),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var messageList = messages.ToList();
        var text = options?.ResponseFormat is ChatResponseFormatJson { SchemaName: PlanSchemaName }
            ? ComposePlan(messageList)
            : Compose(messageList);

        // Half the latency before the first word and the rest spread over the words, so that a
        // streamed reply arrives in pieces the way a model's does. Each word waits for its own
        // moment from the start, so the waits' rounding does not add up.
        var words = text.Split(' ');
        var startedAt = timeProvider.GetTimestamp();
        for (var index = 0; index < words.Length; index++)
        {
            var due = words.Length > 1 ? latency / 2 + (latency / 2) * index / (words.Length - 1) : latency;
            await DelayAsync(due - timeProvider.GetElapsedTime(startedAt), cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = index < words.Length - 1 ? words[index] + " " : words[index];
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk) { ModelId = ModelId };
        }

        yield return new ChatResponseUpdate
        {
            ModelId = ModelId,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(CountUsage(messageList, text))],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    /// <summary>
    /// Builds a plan for a supervisor that requests one: a subtask per sentence of the input, at most
    /// three, so that decomposition works end to end without a model.
    /// </summary>
    internal static string ComposePlan(IReadOnlyList<ChatMessage> messages)
    {
        var input = messages.LastOrDefault(message => message.Role == ChatRole.User)?.Text ?? string.Empty;
        var parts = input.Split(['.', '\n', ';', '?', '!'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Take(MaxPlannedSubtasks)
            .DefaultIfEmpty(input.Trim().Length > 0 ? input.Trim() : "Describe the task.")
            .Select(part => new { agent = "general-purpose", input = part });
        return System.Text.Json.JsonSerializer.Serialize(new { subtasks = parts });
    }

    internal static string Compose(IReadOnlyList<ChatMessage> messages)
    {
        var input = messages.LastOrDefault(message => message.Role == ChatRole.User)?.Text ?? string.Empty;
        var wordCount = CountWords(input);
        var excerpt = input.Length <= EchoLength ? input : input[..EchoLength] + "…";
        var words = wordCount == 1 ? "word" : "words";
        return $"[simulated] No model was called. Received {wordCount} {words}: \"{excerpt}\"";
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, timeProvider, cancellationToken) : Task.CompletedTask;

    private static UsageDetails CountUsage(IReadOnlyList<ChatMessage> messages, string reply)
    {
        long inputTokens = messages.Sum(message => CountWords(message.Text));
        long outputTokens = CountWords(reply);
        return new UsageDetails
        {
            InputTokenCount = inputTokens,
            OutputTokenCount = outputTokens,
            TotalTokenCount = inputTokens + outputTokens,
        };
    }

    private static int CountWords(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}

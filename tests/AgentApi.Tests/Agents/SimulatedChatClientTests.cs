using AgentApi.Agents.Models;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace AgentApi.Tests.Agents;

/// <summary>The simulated model, with its latency on a <see cref="FakeTimeProvider"/>.</summary>
public sealed class SimulatedChatClientTests
{
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task GetResponse_Latency_CompletesOnlyAfterLatency()
    {
        var time = new FakeTimeProvider();
        using var client = new SimulatedChatClient(Latency, time);

        var response = client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello there")]);
        time.Advance(Latency - TimeSpan.FromMilliseconds(1));
        await Task.Yield();
        Assert.False(response.IsCompleted, "The reply came before the latency had passed.");

        time.Advance(TimeSpan.FromMilliseconds(1));
        var result = await response.WaitAsync(Timeout);

        Assert.Contains("hello there", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponse_Input_ReturnsSimulatedTextWithInput()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Summarise the three reports")]).WaitAsync(Timeout);

        Assert.Equal("[simulated] No model was called. Received 4 words: \"Summarise the three reports\"", response.Text);
        Assert.Equal(SimulatedChatClient.ModelId, response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
    }

    [Fact]
    public async Task GetResponse_SameInputTwice_ReturnsSameText()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());
        List<ChatMessage> messages = [new(ChatRole.User, "deterministic please")];

        var first = await client.GetResponseAsync(messages).WaitAsync(Timeout);
        var second = await client.GetResponseAsync(messages).WaitAsync(Timeout);

        Assert.Equal(first.Text, second.Text);
    }

    [Fact]
    public async Task GetResponse_SeveralUserMessages_EchoesLastOne()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());

        var response = await client.GetResponseAsync(
        [
            new ChatMessage(ChatRole.User, "first question"),
            new ChatMessage(ChatRole.Assistant, "first answer"),
            new ChatMessage(ChatRole.User, "second question"),
        ]).WaitAsync(Timeout);

        Assert.Contains("\"second question\"", response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("first", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponse_LongInput_EchoesFirst160Characters()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());
        var input = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"word{i}"));

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, input)]).WaitAsync(Timeout);

        Assert.Contains("Received 100 words", response.Text, StringComparison.Ordinal);
        Assert.Contains($"\"{input[..160]}…\"", response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(input, response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponse_Usage_CountsWords()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "You are terse."), new ChatMessage(ChatRole.User, "count these four words")]).WaitAsync(Timeout);

        Assert.NotNull(response.Usage);
        Assert.Equal(7, response.Usage.InputTokenCount);
        Assert.Equal(CountWords(response.Text), response.Usage.OutputTokenCount);
        Assert.Equal(7 + CountWords(response.Text), response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponse_Input_MatchesWordsAndUsage()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());
        List<ChatMessage> messages = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "stream  these words")];
        var response = await client.GetResponseAsync(messages).WaitAsync(Timeout);

        var updates = await CollectAsync(client.GetStreamingResponseAsync(messages)).WaitAsync(Timeout);
        var streamed = updates.ToChatResponse();

        Assert.True(updates.Count > 2, $"Expected one update per word, got {updates.Count}.");
        Assert.Equal(response.Text.Split(' '), streamed.Text.TrimEnd(' ').Split(' '));
        Assert.Equal(SimulatedChatClient.ModelId, streamed.ModelId);
        Assert.Equal(ChatFinishReason.Stop, streamed.FinishReason);
        Assert.NotNull(streamed.Usage);
        Assert.Equal(response.Usage?.InputTokenCount, streamed.Usage.InputTokenCount);
        Assert.Equal(response.Usage?.OutputTokenCount, streamed.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponse_Input_MatchesTextExactly()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());
        List<ChatMessage> messages = [new(ChatRole.User, "stream these words")];
        var response = await client.GetResponseAsync(messages).WaitAsync(Timeout);

        var streamed = (await CollectAsync(client.GetStreamingResponseAsync(messages)).WaitAsync(Timeout)).ToChatResponse();

        Assert.Equal(response.Text, streamed.Text);
    }

    [Fact]
    public async Task GetResponse_CancelledDuringLatency_Throws()
    {
        var time = new FakeTimeProvider();
        using var client = new SimulatedChatClient(Latency, time);
        using var cancellation = new CancellationTokenSource();

        var response = client.GetResponseAsync([new ChatMessage(ChatRole.User, "never answered")], cancellationToken: cancellation.Token);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => response.WaitAsync(Timeout));
    }

    [Fact]
    public async Task GetResponse_ZeroLatencyCancelledToken_Throws()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => client.GetResponseAsync([new ChatMessage(ChatRole.User, "x")], cancellationToken: cancellation.Token).WaitAsync(Timeout));
    }

    [Fact]
    public async Task GetStreamingResponse_CancelledAfterFirstUpdate_Throws()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());
        using var cancellation = new CancellationTokenSource();
        var stream = client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "several words to stream")], cancellationToken: cancellation.Token);
        await using var updates = stream.GetAsyncEnumerator();

        Assert.True(await updates.MoveNextAsync().AsTask().WaitAsync(Timeout));
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => updates.MoveNextAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void GetService_TypeOrKey_ReturnsSelfOrNull()
    {
        using var client = new SimulatedChatClient(TimeSpan.Zero, new FakeTimeProvider());

        Assert.Same(client, client.GetService(typeof(IChatClient)));
        Assert.Same(client, client.GetService(typeof(SimulatedChatClient)));
        Assert.Null(client.GetService(typeof(IChatClient), serviceKey: "other"));
        Assert.Null(client.GetService(typeof(string)));
    }

    private static async Task<List<ChatResponseUpdate>> CollectAsync(IAsyncEnumerable<ChatResponseUpdate> stream)
    {
        List<ChatResponseUpdate> updates = [];
        await foreach (var update in stream)
        {
            updates.Add(update);
        }

        return updates;
    }

    private static int CountWords(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}

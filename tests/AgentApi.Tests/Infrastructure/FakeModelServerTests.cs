using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace AgentApi.Tests.Infrastructure;

/// <summary>Checks the fake model server against the real OpenAI .NET client.</summary>
public sealed class FakeModelServerTests
{
    private const string Model = "fake-model";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task CompleteChat_ScriptedReply_ReturnsTextAndUsage()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueReply("hello from the fake");
        var client = CreateClient(server);

        ChatCompletion completion = await client.CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("say hello")]).WaitAsync(Timeout);

        Assert.Equal("hello from the fake", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(Model, completion.Model);
        Assert.Equal(5, completion.Usage.InputTokenCount);
        Assert.Equal(4, completion.Usage.OutputTokenCount);
        Assert.Equal(9, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task CompleteChat_AnyRequest_IsRecorded()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var client = CreateClient(server);

        await client.CompleteChatAsync(
            [new UserChatMessage("first"), new AssistantChatMessage("reply"), new UserChatMessage("second")]).WaitAsync(Timeout);

        var request = Assert.Single(server.Requests);
        Assert.Equal(Model, request.Model);
        Assert.False(request.Stream);
        Assert.Equal("Bearer test-key", request.Authorization);
        Assert.Equal("second", request.LastUserMessage);
        Assert.Contains("\"messages\"", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteChat_EmptyQueue_EchoesLastUserMessage()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var client = CreateClient(server);

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("ping")]).WaitAsync(Timeout);

        Assert.Equal("echo: ping", Assert.Single(completion.Content).Text);
    }

    [Fact]
    public async Task CompleteChat_SeveralScriptedReplies_ConsumedInOrder()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueReply("first");
        server.EnqueueReply("second");
        var client = CreateClient(server);

        var texts = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("next")]).WaitAsync(Timeout);
            texts.Add(Assert.Single(completion.Content).Text);
        }

        Assert.Equal(["first", "second", "echo: next"], texts);
    }

    [Fact]
    public async Task CompleteChatStreaming_ScriptedReply_YieldsSeveralUpdates()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueReply("one two three four");
        var client = CreateClient(server);

        var (updates, usage) = await CollectStreamAsync(client, "count to four").WaitAsync(Timeout);

        var contentUpdates = updates.Where(update => update.Length > 0).ToList();
        Assert.True(contentUpdates.Count >= 4, $"Expected at least 4 content updates, got {contentUpdates.Count}.");
        Assert.Equal("one two three four", string.Concat(contentUpdates));

        var request = Assert.Single(server.Requests);
        Assert.True(request.Stream);
        Assert.Equal("count to four", request.LastUserMessage);

        // The OpenAI client asks for usage in streams by default, and the fake then sends it.
        Assert.Contains("\"include_usage\":true", request.Body, StringComparison.Ordinal);
        Assert.NotNull(usage);
        Assert.Equal(3, usage.InputTokenCount);
        Assert.Equal(4, usage.OutputTokenCount);
        Assert.Equal(7, usage.TotalTokenCount);
    }

    [Fact]
    public async Task CompleteChat_Enqueued429_ThrowsWithRetryAfter()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueError(429, TimeSpan.FromSeconds(2.5));
        var client = CreateClient(server);

        var exception = await Assert.ThrowsAsync<ClientResultException>(
            () => client.CompleteChatAsync([new UserChatMessage("hi")]).WaitAsync(Timeout));

        Assert.Equal(429, exception.Status);
        var response = exception.GetRawResponse();
        Assert.NotNull(response);
        Assert.True(response.Headers.TryGetValue("Retry-After", out var retryAfter), "Retry-After header is missing.");
        Assert.Equal("3", retryAfter);

        var body = response.Content.ToString();
        Assert.Contains("\"code\":\"rate_limit_exceeded\"", body, StringComparison.Ordinal);
        Assert.Contains("\"message\":", body, StringComparison.Ordinal);
        Assert.Contains("\"type\":", body, StringComparison.Ordinal);

        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task CompleteChat_Enqueued500_ThrowsWithoutRetryAfter()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueError(500);
        var client = CreateClient(server);

        var exception = await Assert.ThrowsAsync<ClientResultException>(
            () => client.CompleteChatAsync([new UserChatMessage("hi")]).WaitAsync(Timeout));

        Assert.Equal(500, exception.Status);
        var response = exception.GetRawResponse();
        Assert.NotNull(response);
        Assert.False(response.Headers.TryGetValue("Retry-After", out _), "Retry-After header is present.");
    }

    [Fact]
    public async Task CompleteChat_EnqueuedHang_EndsWhenTokenCancelled()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueHang();
        var client = CreateClient(server);
        using var cancellation = new CancellationTokenSource();

        var completion = client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: cancellation.Token);
        await WaitUntilAsync(() => server.ActiveRequests == 1);
        Assert.False(completion.IsCompleted);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => completion.WaitAsync(Timeout));
        await WaitUntilAsync(() => server.ActiveRequests == 0);
    }

    [Fact]
    public async Task DisposeAsync_HangingRequest_EndsRequest()
    {
        var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueHang();
        var client = CreateClient(server);

        var completion = client.CompleteChatAsync([new UserChatMessage("hi")]);
        await WaitUntilAsync(() => server.ActiveRequests == 1);
        await server.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(0, server.ActiveRequests);

        // The response is cut short, so the client fails instead of getting a completion.
        await Assert.ThrowsAnyAsync<Exception>(() => completion.WaitAsync(Timeout));
    }

    [Fact]
    public async Task CompleteChat_DelayedReply_ArrivesAfterDelay()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.EnqueueDelayedReply("late", TimeSpan.FromMilliseconds(300));
        var client = CreateClient(server);

        var stopwatch = Stopwatch.StartNew();
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("hi")]).WaitAsync(Timeout);
        stopwatch.Stop();

        Assert.Equal("late", Assert.Single(completion.Content).Text);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(290), $"Reply came after {stopwatch.Elapsed}.");
    }

    [Fact]
    public async Task CompleteChat_ConcurrentRequests_RecordsPeak()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        const int concurrency = 3;
        for (var i = 0; i < concurrency; i++)
        {
            server.EnqueueDelayedReply("done", TimeSpan.FromMilliseconds(500));
        }

        var client = CreateClient(server);

        var completions = Enumerable.Range(0, concurrency)
            .Select(_ => client.CompleteChatAsync([new UserChatMessage("hi")]))
            .ToList();
        await WaitUntilAsync(() => server.ActiveRequests == concurrency);
        await Task.WhenAll(completions).WaitAsync(Timeout);

        Assert.Equal(concurrency, server.MaxConcurrentRequests);
        Assert.Equal(concurrency, server.Requests.Count);
        await WaitUntilAsync(() => server.ActiveRequests == 0);
    }

    [Fact]
    public async Task Post_InvalidJson_Returns400WithErrorBody()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        using var http = new HttpClient();

        using var response = await http.PostAsync(
            server.BaseUrl + "/chat/completions",
            new StringContent("{not json", Encoding.UTF8, "application/json")).WaitAsync(Timeout);

        Assert.Equal(400, (int)response.StatusCode);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        Assert.Contains("\"error\":", body, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    private static ChatClient CreateClient(FakeModelServer server) =>
        new(Model, new ApiKeyCredential("test-key"), new OpenAIClientOptions
        {
            Endpoint = new Uri(server.BaseUrl),
            RetryPolicy = new ClientRetryPolicy(0),
        });

    private static async Task<(List<string> Updates, ChatTokenUsage? Usage)> CollectStreamAsync(ChatClient client, string prompt)
    {
        var updates = new List<string>();
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)]))
        {
            updates.Add(string.Concat(update.ContentUpdate.Select(part => part.Text)));
            usage ??= update.Usage;
        }

        return (updates, usage);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > Timeout)
            {
                throw new TimeoutException($"Condition was still false after {Timeout.TotalSeconds} s.");
            }

            await Task.Delay(10);
        }
    }
}

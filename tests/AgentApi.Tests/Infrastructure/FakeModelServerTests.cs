using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AiFinishReason = Microsoft.Extensions.AI.ChatFinishReason;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace AgentApi.Tests.Infrastructure;

/// <summary>Checks the fake model server against the real OpenAI .NET client, its Microsoft.Extensions.AI adapter and the Anthropic client.</summary>
public sealed class FakeModelServerTests
{
    private const string Model = "fake-model";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly JsonElement PathSchema =
        JsonSerializer.Deserialize<JsonElement>("""{"type":"object","properties":{"path":{"type":"string"}}}""");

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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rule_DelayedTextReply_ReturnsTextAfterDelay(bool stream)
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.WhenLastUserMessageContains("hello", FakeReply.Text("hi there friend", TimeSpan.FromMilliseconds(300)));
        using var client = CreateChatClient(server);

        var stopwatch = Stopwatch.StartNew();
        var response = await GetResponseAsync(client, [new ChatMessage(ChatRole.User, "hello fake")], null, stream).WaitAsync(Timeout);
        stopwatch.Stop();

        Assert.Equal("hi there friend", response.Text);
        Assert.Equal(AiFinishReason.Stop, response.FinishReason);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(290), $"Reply came after {stopwatch.Elapsed}.");
        Assert.NotNull(response.Usage);
        Assert.Equal(2, response.Usage.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rule_TextReplyWithUsage_ReportsGivenCounts(bool stream)
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.AddRule(_ => true, FakeReply.Text("short answer", usage: new FakeUsage(1200, 345)));
        using var client = CreateChatClient(server);

        var response = await GetResponseAsync(client, [new ChatMessage(ChatRole.User, "count me")], null, stream).WaitAsync(Timeout);

        Assert.Equal("short answer", response.Text);
        Assert.NotNull(response.Usage);
        Assert.Equal(1200, response.Usage.InputTokenCount);
        Assert.Equal(345, response.Usage.OutputTokenCount);
        Assert.Equal(1545, response.Usage.TotalTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rule_ErrorReply_ThrowsWithRetryAfter(bool stream)
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.AddRule(_ => true, FakeReply.Error(503, TimeSpan.FromSeconds(2)));
        using var client = CreateChatClient(server);

        var exception = await Assert.ThrowsAsync<ClientResultException>(
            () => GetResponseAsync(client, [new ChatMessage(ChatRole.User, "hi")], null, stream).WaitAsync(Timeout));

        Assert.Equal(503, exception.Status);
        var response = exception.GetRawResponse();
        Assert.NotNull(response);
        Assert.True(response.Headers.TryGetValue("Retry-After", out var retryAfter), "Retry-After header is missing.");
        Assert.Equal("2", retryAfter);
        Assert.Contains("\"code\":\"server_error\"", response.Content.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rule_HangReply_EndsWhenTokenCancelled(bool stream)
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.AddRule(_ => true, FakeReply.Hang());
        using var client = CreateChatClient(server);
        using var cancellation = new CancellationTokenSource();

        var pending = GetResponseAsync(client, [new ChatMessage(ChatRole.User, "hi")], null, stream, cancellation.Token);
        await WaitUntilAsync(() => server.ActiveRequests == 1);
        Assert.False(pending.IsCompleted);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Timeout));
        await WaitUntilAsync(() => server.ActiveRequests == 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rule_ToolCallsReply_ReturnsFunctionCalls(bool stream)
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.WhenToolOffered("read_file", FakeReply.ToolCalls(
        [
            new FakeToolCall("read_file", """{"path":"notes/a.txt"}"""),
            new FakeToolCall("list_dir", """{"path":".","depth":2}"""),
        ]));
        using var client = CreateChatClient(server);

        var response = await GetResponseAsync(
            client, [new ChatMessage(ChatRole.User, "look around")], ToolOptions("read_file", "list_dir"), stream).WaitAsync(Timeout);

        Assert.Equal(AiFinishReason.ToolCalls, response.FinishReason);
        Assert.Equal("", response.Text);
        var calls = response.Messages.SelectMany(message => message.Contents).OfType<FunctionCallContent>().ToList();
        Assert.Equal(2, calls.Count);

        Assert.Equal("call_1", calls[0].CallId);
        Assert.Equal("read_file", calls[0].Name);
        Assert.Null(calls[0].Exception);
        Assert.Equal("notes/a.txt", ReadArgument(calls[0], "path"));

        Assert.Equal("call_2", calls[1].CallId);
        Assert.Equal("list_dir", calls[1].Name);
        Assert.Null(calls[1].Exception);
        Assert.Equal(".", ReadArgument(calls[1], "path"));
        Assert.Equal("2", ReadArgument(calls[1], "depth"));

        // Word counts: "look around" is 2 words, and each arguments string is 1 word.
        Assert.NotNull(response.Usage);
        Assert.Equal(2, response.Usage.InputTokenCount);
        Assert.Equal(2, response.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Post_ToolCallReply_WritesOpenAiMessage()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.Enqueue(FakeReply.ToolCall("read_file", """{"path":"a.txt"}"""));
        using var http = new HttpClient();

        using var response = await http.PostAsJsonAsync(server.BaseUrl + "/chat/completions", new
        {
            model = Model,
            messages = new[] { new { role = "user", content = "read it" } },
        }).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());

        var message = choice.GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);

        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("call_1", call.GetProperty("id").GetString());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("read_file", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"path":"a.txt"}""", call.GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task PostStream_ToolCallReply_SplitsArguments()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        const string arguments = """{"path":"docs/design/overview.md","limit":200}""";
        server.Enqueue(FakeReply.ToolCalls(
        [
            new FakeToolCall("read_file", arguments) { Id = "call_custom" },
            new FakeToolCall("list_dir", "{}"),
        ]));
        using var http = new HttpClient();

        using var response = await http.PostAsJsonAsync(server.BaseUrl + "/chat/completions", new
        {
            model = Model,
            stream = true,
            stream_options = new { include_usage = true },
            messages = new[] { new { role = "user", content = "read it" } },
        }).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = ReadServerSentEvents(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(data => JsonSerializer.Deserialize<JsonElement>(data)).ToList();

        var firstDelta = chunks[0].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", firstDelta.GetProperty("role").GetString());
        var firstCall = Assert.Single(firstDelta.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal(0, firstCall.GetProperty("index").GetInt32());
        Assert.Equal("call_custom", firstCall.GetProperty("id").GetString());
        Assert.Equal("function", firstCall.GetProperty("type").GetString());
        Assert.Equal("read_file", firstCall.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", firstCall.GetProperty("function").GetProperty("arguments").GetString());

        var callDeltas = chunks
            .Where(chunk => chunk.GetProperty("choices").GetArrayLength() > 0)
            .Select(chunk => chunk.GetProperty("choices")[0].GetProperty("delta"))
            .Where(delta => delta.TryGetProperty("tool_calls", out _))
            .Select(delta => Assert.Single(delta.GetProperty("tool_calls").EnumerateArray()))
            .ToList();
        var firstArguments = callDeltas.Where(call => call.GetProperty("index").GetInt32() == 0).ToList();
        Assert.True(firstArguments.Count > 2, $"Expected the arguments in several deltas, got {firstArguments.Count} deltas.");
        Assert.Equal(arguments, string.Concat(firstArguments.Select(call => call.GetProperty("function").GetProperty("arguments").GetString())));

        var secondCall = callDeltas.First(call => call.GetProperty("index").GetInt32() == 1);
        Assert.Equal("call_1", secondCall.GetProperty("id").GetString());
        Assert.Equal("list_dir", secondCall.GetProperty("function").GetProperty("name").GetString());

        Assert.Equal("tool_calls", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(FakeModelServer.CountTokens("read it"), chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task AddRule_SeveralMatch_FirstWins()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var first = server.AddRule(request => request.LastUserMessage.StartsWith("task", StringComparison.Ordinal), FakeReply.Text("first rule"), times: 2);
        var second = server.WhenLastUserMessageContains("task", FakeReply.Text("second rule"));
        server.EnqueueReply("queued");
        using var client = CreateChatClient(server);

        var texts = new List<string>();
        foreach (var prompt in new[] { "task one", "task two", "task three", "other", "other" })
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)]).WaitAsync(Timeout);
            texts.Add(response.Text);
        }

        Assert.Equal(["first rule", "first rule", "second rule", "queued", "echo: other"], texts);
        Assert.Equal(2, first.Times);
        Assert.Equal(2, first.MatchCount);
        Assert.True(first.IsExhausted);
        Assert.Null(second.Times);
        Assert.Equal(1, second.MatchCount);
        Assert.False(second.IsExhausted);
    }

    [Fact]
    public async Task RemoveRule_RemovedRule_NoLongerMatches()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var rule = server.AddRule(_ => true, FakeReply.Text("from rule"));
        using var client = CreateChatClient(server);

        var before = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "one")]).WaitAsync(Timeout);
        Assert.True(server.RemoveRule(rule));
        var after = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "two")]).WaitAsync(Timeout);

        Assert.Equal("from rule", before.Text);
        Assert.Equal("echo: two", after.Text);
        Assert.False(server.RemoveRule(rule));
    }

    [Fact]
    public async Task AddRule_TimesInParallel_FiresExactly()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var limited = server.AddRule(_ => true, FakeReply.Text("limited", TimeSpan.FromMilliseconds(100)), times: 3);
        using var client = CreateChatClient(server);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(i => client.GetResponseAsync([new ChatMessage(ChatRole.User, $"request {i}")]))).WaitAsync(Timeout);

        Assert.Equal(3, responses.Count(response => response.Text == "limited"));
        Assert.Equal(5, responses.Count(response => response.Text.StartsWith("echo: request ", StringComparison.Ordinal)));
        Assert.Equal(3, limited.MatchCount);
    }

    [Fact]
    public async Task AddRule_PredicateThrows_Returns500WithMessage()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.AddRule(_ => throw new InvalidOperationException("predicate broke"), FakeReply.Text("never sent"));
        var client = CreateClient(server);

        var exception = await Assert.ThrowsAsync<ClientResultException>(
            () => client.CompleteChatAsync([new UserChatMessage("hi")]).WaitAsync(Timeout));

        Assert.Equal(500, exception.Status);
        var response = exception.GetRawResponse();
        Assert.NotNull(response);
        Assert.Contains("predicate broke", response.Content.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddRule_InvalidTimes_Throws()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);

        Assert.Throws<ArgumentOutOfRangeException>(() => server.AddRule(_ => true, FakeReply.Text("x"), times: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeReply.Error(200));
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeReply.Text("x", TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentException>(() => FakeReply.ToolCalls([]));
    }

    [Fact]
    public async Task SetResponder_AfterRulesBeforeQueue()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.WhenLastUserMessageContains("rule", FakeReply.Text("from rule"));
        server.SetResponder(request => request.LastUserMessage.StartsWith("dynamic", StringComparison.Ordinal)
            ? FakeReply.Text("responder saw " + request.LastUserMessage)
            : null);
        server.EnqueueReply("queued");
        using var client = CreateChatClient(server);

        var texts = new List<string>();
        foreach (var prompt in new[] { "dynamic rule", "dynamic one", "plain", "plain" })
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)]).WaitAsync(Timeout);
            texts.Add(response.Text);
        }

        server.SetResponder(null);
        var afterReset = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "dynamic two")]).WaitAsync(Timeout);

        Assert.Equal(["from rule", "responder saw dynamic one", "queued", "echo: plain"], texts);
        Assert.Equal("echo: dynamic two", afterReset.Text);
    }

    [Fact]
    public async Task GetResponse_ToolRoundTrip_RecordsMessages()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        using var client = CreateChatClient(server);
        ChatMessage[] conversation =
        [
            new(ChatRole.System, "You are a child agent."),
            new(ChatRole.User, "Read a.txt"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_7", "read_file", new Dictionary<string, object?> { ["path"] = "a.txt" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_7", "contents of a")]),
        ];

        await client.GetResponseAsync(conversation, ToolOptions("read_file")).WaitAsync(Timeout);

        var request = Assert.Single(server.Requests);
        Assert.Equal("You are a child agent.", request.SystemMessage);
        Assert.Equal(["read_file"], request.ToolNames);
        Assert.Equal("Read a.txt", request.LastUserMessage);
        Assert.Equal(["system", "user", "assistant", "tool"], request.Messages.Select(message => message.Role));
        Assert.Equal("You are a child agent.", request.Messages[0].Text);
        Assert.Equal("Read a.txt", request.Messages[1].Text);

        var assistant = request.Messages[2];
        Assert.Null(assistant.ToolCallId);
        var call = Assert.Single(assistant.ToolCalls);
        Assert.Equal("call_7", call.Id);
        Assert.Equal("read_file", call.Name);
        Assert.Equal("a.txt", JsonSerializer.Deserialize<JsonElement>(call.Arguments).GetProperty("path").GetString());

        var tool = request.Messages[3];
        Assert.Equal("call_7", tool.ToolCallId);
        Assert.Equal("contents of a", tool.Text);
        Assert.Empty(tool.ToolCalls);

        var expectedPromptTokens = FakeModelServer.CountTokens("You are a child agent.")
            + FakeModelServer.CountTokens("Read a.txt")
            + FakeModelServer.CountTokens("contents of a");
        Assert.Equal(expectedPromptTokens, request.PromptTokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ToolLoop_Rules_ReplyPerStep(bool stream)
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.WhenLastMessageIsToolResult(FakeReply.Text("the file says alpha"));
        server.WhenToolOffered("read_file", FakeReply.ToolCall("read_file", """{"path":"a.txt"}"""), times: 1);
        using var client = CreateChatClient(server);
        var options = ToolOptions("read_file");
        List<ChatMessage> conversation = [new(ChatRole.User, "Read a.txt")];

        var first = await GetResponseAsync(client, conversation, options, stream).WaitAsync(Timeout);
        var call = Assert.Single(first.Messages.SelectMany(message => message.Contents).OfType<FunctionCallContent>());
        conversation.AddMessages(first);
        conversation.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "alpha")]));
        var second = await GetResponseAsync(client, conversation, options, stream).WaitAsync(Timeout);

        Assert.Equal("the file says alpha", second.Text);
        Assert.Equal(2, server.Requests.Count);
        var request = server.Requests[1];
        Assert.Equal(["user", "assistant", "tool"], request.Messages.Select(message => message.Role));
        var recordedCall = Assert.Single(request.Messages[1].ToolCalls);
        Assert.Equal("call_1", recordedCall.Id);
        Assert.Equal("read_file", recordedCall.Name);
        Assert.Equal("a.txt", JsonSerializer.Deserialize<JsonElement>(recordedCall.Arguments).GetProperty("path").GetString());
        Assert.Equal("call_1", request.Messages[2].ToolCallId);
        Assert.Equal("alpha", request.Messages[2].Text);
        Assert.Equal("Read a.txt", request.LastUserMessage);
    }

    [Fact]
    public async Task ParallelRequests_DelayedRule_RecordsMaxConcurrency()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        const int children = 6;
        server.AddRule(
            request => request.SystemMessage == "child",
            request => FakeReply.Text("done " + request.LastUserMessage, TimeSpan.FromSeconds(2)));
        using var client = CreateChatClient(server);

        // A first request warms up the client's connection and JIT, so that the parallel ones overlap in the delay.
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "warm up")]).WaitAsync(Timeout);
        var pending = Enumerable.Range(0, children)
            .Select(i => client.GetResponseAsync([new ChatMessage(ChatRole.System, "child"), new ChatMessage(ChatRole.User, $"subtask {i}")]))
            .ToList();
        var recorded = await server.WaitForRequestsAsync(children + 1, Timeout);
        var responses = await Task.WhenAll(pending).WaitAsync(Timeout);

        Assert.Equal(children + 1, recorded.Count);
        Assert.Equal(Enumerable.Range(0, children).Select(i => $"done subtask {i}"), responses.Select(response => response.Text));
        Assert.Equal(children, server.MaxConcurrentRequests);
        foreach (var request in recorded.Skip(1))
        {
            Assert.Equal(["system", "user"], request.Messages.Select(message => message.Role));
        }

        await WaitUntilAsync(() => server.ActiveRequests == 0);
    }

    [Fact]
    public async Task WaitForRequests_TooFewRequests_ThrowsTimeout()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var client = CreateClient(server);
        await client.CompleteChatAsync([new UserChatMessage("only one")]).WaitAsync(Timeout);

        var recorded = await server.WaitForRequestsAsync(1, Timeout);
        var exception = await Assert.ThrowsAsync<TimeoutException>(
            () => server.WaitForRequestsAsync(2, TimeSpan.FromMilliseconds(200)).WaitAsync(Timeout));

        Assert.Equal("only one", Assert.Single(recorded).LastUserMessage);
        Assert.Contains("1 of 2", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForRequests_LaterRequest_CompletesWait()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var client = CreateClient(server);

        var waiting = server.WaitForRequestsAsync(1, Timeout);
        Assert.False(waiting.IsCompleted);
        await client.CompleteChatAsync([new UserChatMessage("arrives later")]).WaitAsync(Timeout);
        var recorded = await waiting.WaitAsync(Timeout);

        Assert.Equal("arrives later", Assert.Single(recorded).LastUserMessage);
    }

    [Fact]
    public async Task Messages_DelayedTextRule_ReturnsText()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.WhenSystemMessageContains("Be brief", FakeReply.Text("anthropic rule reply", TimeSpan.FromMilliseconds(300)));
        server.EnqueueReply("queued");
        using var anthropic = new AnthropicClient { ApiKey = "test-key", BaseUrl = server.RootUrl, MaxRetries = 0 };
        using var client = anthropic.AsIChatClient(Model);

        var stopwatch = Stopwatch.StartNew();
        var ruled = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "hi")]).WaitAsync(Timeout);
        stopwatch.Stop();
        var queued = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi again")]).WaitAsync(Timeout);

        Assert.Equal("anthropic rule reply", ruled.Text);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(290), $"Reply came after {stopwatch.Elapsed}.");
        Assert.Equal("queued", queued.Text);
        Assert.Equal("Be brief.", server.Requests[0].SystemMessage);
        Assert.Equal("", server.Requests[1].SystemMessage);
    }

    [Fact]
    public async Task Messages_ToolLoop_ReplyPerStep()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.WhenLastMessageIsToolResult(FakeReply.Text("the file says alpha"));
        server.WhenToolOffered("read_file", FakeReply.ToolCall("read_file", """{"path":"a.txt"}"""), times: 1);
        using var anthropic = new AnthropicClient { ApiKey = "test-key", BaseUrl = server.RootUrl, MaxRetries = 0 };
        using var client = anthropic.AsIChatClient(Model);
        var options = ToolOptions("read_file");
        List<ChatMessage> conversation = [new(ChatRole.User, "Read a.txt")];

        var first = await client.GetResponseAsync(conversation, options).WaitAsync(Timeout);
        var call = Assert.Single(first.Messages.SelectMany(message => message.Contents).OfType<FunctionCallContent>());
        conversation.AddMessages(first);
        conversation.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "alpha")]));
        var second = await client.GetResponseAsync(conversation, options).WaitAsync(Timeout);

        Assert.Equal(AiFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal("call_1", call.CallId);
        Assert.Equal("read_file", call.Name);
        Assert.Equal("a.txt", ReadArgument(call, "path"));
        Assert.Equal("the file says alpha", second.Text);

        var request = server.Requests[1];
        Assert.Equal(["read_file"], request.ToolNames);
        Assert.Equal(["user", "assistant", "tool"], request.Messages.Select(message => message.Role));
        var recordedCall = Assert.Single(request.Messages[1].ToolCalls);
        Assert.Equal("call_1", recordedCall.Id);
        Assert.Equal("read_file", recordedCall.Name);
        Assert.Equal("a.txt", JsonSerializer.Deserialize<JsonElement>(recordedCall.Arguments).GetProperty("path").GetString());
        Assert.Equal("call_1", request.Messages[2].ToolCallId);
        Assert.Equal("alpha", request.Messages[2].Text);
        Assert.Equal("Read a.txt", request.LastUserMessage);
    }

    [Fact]
    public async Task Messages_ToolCallWithInvalidArguments_Returns500()
    {
        await using var server = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        server.Enqueue(FakeReply.ToolCall("read_file", "[1, 2]"));
        using var http = new HttpClient();

        using var response = await http.PostAsJsonAsync(server.RootUrl + "/v1/messages", new
        {
            model = Model,
            max_tokens = 64,
            messages = new[] { new { role = "user", content = "read" } },
        }).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        Assert.Equal("api_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("'read_file'", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static ChatClient CreateClient(FakeModelServer server) =>
        new(Model, new ApiKeyCredential("test-key"), new OpenAIClientOptions
        {
            Endpoint = new Uri(server.BaseUrl),
            RetryPolicy = new ClientRetryPolicy(0),
        });

    private static IChatClient CreateChatClient(FakeModelServer server) =>
        new OpenAIClient(new ApiKeyCredential("test-key"), new OpenAIClientOptions
        {
            Endpoint = new Uri(server.BaseUrl),
            RetryPolicy = new ClientRetryPolicy(0),
        }).GetChatClient(Model).AsIChatClient();

    /// <summary>Creates options that offer declared tools with a <c>path</c> string parameter.</summary>
    private static ChatOptions ToolOptions(params string[] names) => new()
    {
        Tools = [.. names.Select(name => AIFunctionFactory.CreateDeclaration(name, $"Test tool {name}.", PathSchema))],
    };

    /// <summary>Gets a response, or when <paramref name="stream"/> is true, streams the updates and combines them.</summary>
    private static async Task<ChatResponse> GetResponseAsync(
        IChatClient client, IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, CancellationToken cancellationToken = default)
    {
        if (!stream)
        {
            return await client.GetResponseAsync(messages, options, cancellationToken);
        }

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
        }

        return updates.ToChatResponse();
    }

    private static string? ReadArgument(FunctionCallContent call, string name) =>
        call.Arguments is { } arguments && arguments.TryGetValue(name, out var value)
            ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    /// <summary>Returns the <c>data:</c> payloads of a server-sent event stream, in order.</summary>
    private static List<string> ReadServerSentEvents(string body) =>
        body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(block => Assert.Single(block.Split('\n'), line => line.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..])
            .ToList();

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

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic;
using AgentApi.Agents;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace AgentApi.Tests.Agents;

/// <summary>
/// The <c>anthropic</c> provider: the official Anthropic client against the fake model server's
/// <c>/v1/messages</c>, first directly and then end to end through the HTTP API on PostgreSQL.
/// </summary>
public sealed class AnthropicProviderTests
{
    private const string ApiKey = "sk-test-secret";
    private const string ModelId = "claude-test";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnthropicClient_RootBaseUrl_PostsToMessages()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        fake.EnqueueReply("three word reply");
        using var anthropic = new AnthropicClient { ApiKey = ApiKey, BaseUrl = fake.RootUrl, MaxRetries = 0 };
        using var client = anthropic.AsIChatClient(ModelId);

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "say four words")]).WaitAsync(Timeout);

        Assert.Equal("three word reply", response.Text);
        Assert.Equal(ModelId, response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.NotNull(response.Usage);
        Assert.Equal(5, response.Usage.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);

        // Anthropic 13.15.0 documents that ApiKey is sent as "Authorization: Bearer", not as x-api-key.
        var request = Assert.Single(fake.Requests);
        Assert.Equal("/v1/messages", request.Path);
        Assert.Equal($"Bearer {ApiKey}", request.Authorization);
        Assert.Equal("say four words", request.LastUserMessage);
        Assert.False(request.Stream);
    }

    [Fact]
    public async Task AnthropicClient_Enqueued529_ThrowsOverloaded()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        fake.EnqueueError(529);
        using var anthropic = new AnthropicClient { ApiKey = ApiKey, BaseUrl = fake.RootUrl, MaxRetries = 0 };
        using var client = anthropic.AsIChatClient(ModelId);

        var exception = await Assert.ThrowsAnyAsync<Anthropic.Exceptions.AnthropicApiException>(
            () => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]).WaitAsync(Timeout));

        Assert.Equal(529, (int)exception.StatusCode);
        using var body = JsonDocument.Parse(exception.ResponseBody);
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Single(fake.Requests);
    }

    [Fact]
    public async Task FakeMessages_XApiKeyHeader_RecordedAsAuthorization()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, fake.RootUrl + "/v1/messages")
        {
            Content = JsonContent.Create(new
            {
                model = ModelId,
                max_tokens = 64,
                system = "Be brief.",
                messages = new[] { new { role = "user", content = "ping" } },
            }),
        };
        request.Headers.Add("x-api-key", ApiKey);

        using var response = await http.SendAsync(request).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        Assert.Equal("message", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("echo: ping", body.RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(3, body.RootElement.GetProperty("usage").GetProperty("input_tokens").GetInt32());

        var recorded = Assert.Single(fake.Requests);
        Assert.Equal(ApiKey, recorded.Authorization);
        Assert.Equal("ping", recorded.LastUserMessage);
    }

    [Fact]
    public async Task FakeMessages_StreamRequest_Returns400AndKeepsBehaviour()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        fake.EnqueueReply("kept for the next request");
        using var http = new HttpClient();

        using var response = await http.PostAsJsonAsync(fake.RootUrl + "/v1/messages", new
        {
            model = ModelId,
            max_tokens = 64,
            stream = true,
            messages = new[] { new { role = "user", content = "stream please" } },
        }).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.True(Assert.Single(fake.Requests).Stream);

        using var anthropic = new AnthropicClient { ApiKey = ApiKey, BaseUrl = fake.RootUrl, MaxRetries = 0 };
        var next = await anthropic.AsIChatClient(ModelId).GetResponseAsync([new ChatMessage(ChatRole.User, "again")]).WaitAsync(Timeout);
        Assert.Equal("kept for the next request", next.Text);
    }

    [Fact]
    public async Task Task_ScriptedReply_SucceedsWithUsage()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        const string reply = "Anthropic scripted answer";
        fake.EnqueueReply(reply);
        var input = $"Summarise report {Guid.NewGuid():N}";

        var id = await factory.SubmitAsync(client, new { agent = "plan", input }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(1, task.Attempts);
        Assert.NotNull(task.Result);
        Assert.Equal(reply, task.Result.Text);
        Assert.Equal(ModelId, task.Result.Model);

        var systemPrompt = new AgentCatalog().Find("plan")!.SystemPrompt;
        Assert.Equal(FakeModelServer.CountTokens(systemPrompt) + FakeModelServer.CountTokens(input), task.Result.Usage.InputTokens);
        Assert.Equal(FakeModelServer.CountTokens(reply), task.Result.Usage.OutputTokens);

        var request = Assert.Single(fake.Requests);
        Assert.Equal("/v1/messages", request.Path);
        Assert.Equal($"Bearer {ApiKey}", request.Authorization);
        Assert.Equal(ModelId, request.Model);
        Assert.Equal(input, request.LastUserMessage);
        Assert.Equal(systemPrompt, ReadSystemText(request.Body));

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Task_500ThenReply_RetriesAndSucceeds()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(500);
        fake.EnqueueReply("second try");

        var id = await factory.SubmitAsync(client, new { input = "retry me", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(2, task.Attempts);
        Assert.Equal("second try", task.Result?.Text);
        Assert.Equal(2, fake.Requests.Count);

        var failed = Assert.Single(await GetEventsAsync(client, id), e => e.Type == "attempt_failed");
        var error = failed.Data!.Value.GetProperty("error");
        Assert.Equal("model_unavailable", error.GetProperty("type").GetString());
        Assert.Equal(500, error.GetProperty("statusCode").GetInt32());

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Task_429_RetriesAsRateLimited()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(429);
        fake.EnqueueReply("after the rate limit");

        var id = await factory.SubmitAsync(client, new { input = "rate limited once", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(2, task.Attempts);
        var failed = Assert.Single(await GetEventsAsync(client, id), e => e.Type == "attempt_failed");
        Assert.Equal("rate_limited", failed.Data!.Value.GetProperty("error").GetProperty("type").GetString());

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Task_429WithRetryAfter_WaitsRetryAfter()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake, new() { ["Tasks:MaxRetryAfter"] = "00:00:05" });
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(429, TimeSpan.FromSeconds(1));
        fake.EnqueueReply("after the rate limit");

        var id = await factory.SubmitAsync(client, new { input = "rate limited once", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        var failed = Assert.Single(await GetEventsAsync(client, id), e => e.Type == "attempt_failed");
        Assert.InRange(failed.Data!.Value.GetProperty("retryInMs").GetInt64(), 900, 1100);
    }

    [Fact]
    public async Task Task_400_FailsAtOnceAsModelError()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(400);

        // A retry would get this reply and succeed, so a wrong retry fails the test.
        fake.EnqueueReply("must not be reached");

        var id = await factory.SubmitAsync(client, new { input = "bad request", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("failed", task.Status);
        Assert.Equal(1, task.Attempts);
        Assert.Equal("model_error", task.Error?.Type);
        Assert.Single(fake.Requests);

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Cancel_HangingRequest_EndsCancelledAndAbortsRequest()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueHang();

        var id = await factory.SubmitAsync(client, new { input = "hang, then be cancelled" }).WaitAsync(Timeout);
        await WaitUntilAsync(() => fake.ActiveRequests == 1, "the request to reach the fake");
        using var cancel = await client.PostAsync($"/api/tasks/{id}/cancel", null).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", task.Status);
        Assert.Equal("cancelled", task.Error?.Type);
        await WaitUntilAsync(() => fake.ActiveRequests == 0, "the fake's request to be aborted");
        Assert.Single(fake.Requests);

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Timeout_HangingRequest_EndsTimedOut()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueHang();
        var stopwatch = Stopwatch.StartNew();

        var id = await factory.SubmitAsync(client, new { input = "hang until the deadline", timeoutSeconds = 2 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);
        stopwatch.Stop();

        Assert.Equal("timed_out", task.Status);
        Assert.Equal("timed_out", task.Error?.Type);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(6), $"The task ended after {stopwatch.Elapsed}.");
        await WaitUntilAsync(() => fake.ActiveRequests == 0, "the fake's request to be aborted");

        AssertApiKeyNotLogged(factory);
    }

    private static Task<AgentApiFactory> StartServiceAsync(FakeModelServer fake, Dictionary<string, string?>? settings = null)
    {
        // The Anthropic client appends /v1/messages to its BaseUrl, so the endpoint is the root URL.
        var all = new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "anthropic",
            ["Models:Default:Endpoint"] = fake.RootUrl,
            ["Models:Default:Model"] = ModelId,
            ["Models:Default:ApiKey"] = ApiKey,
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return AgentApiFactory.StartPostgresAsync(all).WaitAsync(Timeout);
    }

    private static async Task<List<TaskEventDto>> GetEventsAsync(HttpClient client, Guid id) =>
        await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events").WaitAsync(Timeout)
            ?? throw new InvalidOperationException($"GET /api/tasks/{id}/events returned no body.");

    /// <summary>Reads the top-level <c>system</c> of a messages request, a string or an array of text blocks.</summary>
    private static string ReadSystemText(string body)
    {
        using var document = JsonDocument.Parse(body);
        var system = document.RootElement.GetProperty("system");
        return system.ValueKind == JsonValueKind.String
            ? system.GetString() ?? ""
            : string.Concat(system.EnumerateArray().Select(block => block.GetProperty("text").GetString()));
    }

    private static void AssertApiKeyNotLogged(AgentApiFactory factory) =>
        Assert.DoesNotContain(ApiKey, factory.Logs.AllText, StringComparison.Ordinal);

    private static async Task WaitUntilAsync(Func<bool> condition, string description)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > Timeout)
            {
                throw new TimeoutException($"Timed out after {Timeout.TotalSeconds} s waiting for {description}.");
            }

            await Task.Delay(10);
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Agents;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Agents;

/// <summary>
/// The <c>openai</c> provider end to end: tasks submitted through the HTTP API on PostgreSQL,
/// run against the fake model server with the official OpenAI client.
/// </summary>
public sealed class OpenAiProviderTests
{
    private const string ApiKey = "sk-test-secret";
    private const string ModelId = "gpt-test";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Task_ScriptedReply_SucceedsWithUsage()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        const string reply = "The scripted answer from the fake model.";
        fake.EnqueueReply(reply);
        var input = $"Summarise report {Guid.NewGuid():N}";

        var id = await factory.SubmitAsync(client, new { agent = "explore", input }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(1, task.Attempts);
        Assert.NotNull(task.Result);
        Assert.Equal(reply, task.Result.Text);
        Assert.Equal(ModelId, task.Result.Model);

        var systemPrompt = new AgentCatalog().Find("explore")!.SystemPrompt;
        Assert.Equal(FakeModelServer.CountTokens(systemPrompt) + FakeModelServer.CountTokens(input), task.Result.Usage.InputTokens);
        Assert.Equal(FakeModelServer.CountTokens(reply), task.Result.Usage.OutputTokens);

        var request = Assert.Single(fake.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal($"Bearer {ApiKey}", request.Authorization);
        Assert.Equal(ModelId, request.Model);
        Assert.True(request.Stream);
        Assert.Equal(input, request.LastUserMessage);

        var messages = ReadMessages(request.Body);
        Assert.Equal(["system", "user"], messages.Select(message => message.Role));
        Assert.Equal(systemPrompt, messages[0].Text);
        Assert.Equal(input, messages[^1].Text);

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Task_429WithRetryAfter_WaitsThenSucceeds()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake, new() { ["Tasks:MaxRetryAfter"] = "00:00:05" });
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(429, TimeSpan.FromSeconds(1));
        fake.EnqueueReply("after the rate limit");

        var id = await factory.SubmitAsync(client, new { input = "rate limited once", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(2, task.Attempts);
        Assert.Equal("after the rate limit", task.Result?.Text);
        Assert.Equal(2, fake.Requests.Count);

        var events = await GetEventsAsync(client, id);
        Assert.Equal(["queued", "started", "attempt_failed", "started", "output", "model_call", "succeeded"], events.Select(e => e.Type));

        var failed = events.Single(e => e.Type == "attempt_failed");
        var data = failed.Data!.Value;
        Assert.Equal(1, data.GetProperty("attempt").GetInt32());
        Assert.Equal("rate_limited", data.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(429, data.GetProperty("error").GetProperty("statusCode").GetInt32());
        var retryInMs = data.GetProperty("retryInMs").GetInt64();
        Assert.InRange(retryInMs, 900, 1100);

        // The first response came before attempt_failed was stored, and the second request
        // was sent after the second started event, so this gap bounds the wait between them.
        var secondStart = events.Last(e => e.Type == "started");
        var gap = secondStart.Timestamp - failed.Timestamp;
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"The second attempt started {gap.TotalMilliseconds} ms after the 429.");

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Task_RetryAfterOverCap_WaitsOnlyCap()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake, new() { ["Tasks:MaxRetryAfter"] = "00:00:00.300" });
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(429, TimeSpan.FromHours(1));
        fake.EnqueueReply("after the capped wait");
        var stopwatch = Stopwatch.StartNew();

        var id = await factory.SubmitAsync(client, new { input = "rate limited for an hour", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);
        stopwatch.Stop();

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(2, task.Attempts);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"The task took {stopwatch.Elapsed}.");

        var failed = (await GetEventsAsync(client, id)).Single(e => e.Type == "attempt_failed");
        Assert.InRange(failed.Data!.Value.GetProperty("retryInMs").GetInt64(), 0, 300);

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

        var id = await factory.SubmitAsync(client, new { input = "fails once", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(2, task.Attempts);
        Assert.Equal("second try", task.Result?.Text);
        Assert.Null(task.Error);
        Assert.Equal(2, fake.Requests.Count);

        var failed = Assert.Single(await GetEventsAsync(client, id), e => e.Type == "attempt_failed");
        Assert.Equal("model_unavailable", failed.Data!.Value.GetProperty("error").GetProperty("type").GetString());

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task Task_500EveryAttempt_FailsAfterMaxAttempts()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        for (var i = 0; i < 3; i++)
        {
            fake.EnqueueError(500);
        }

        // A fourth request would get this reply and succeed, so an extra attempt fails the test.
        fake.EnqueueReply("must not be reached");

        var id = await factory.SubmitAsync(client, new { input = "always fails", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("failed", task.Status);
        Assert.Equal(3, task.Attempts);
        Assert.Null(task.Result);
        Assert.NotNull(task.Error);
        Assert.Equal("model_unavailable", task.Error.Type);
        Assert.Contains("HTTP 500", task.Error.Message, StringComparison.Ordinal);
        Assert.Equal(3, fake.Requests.Count);

        var events = await GetEventsAsync(client, id);
        Assert.Equal(3, events.Count(e => e.Type == "started"));
        Assert.Equal(2, events.Count(e => e.Type == "attempt_failed"));
        Assert.Equal("failed", events[^1].Type);

        AssertApiKeyNotLogged(factory);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    public async Task Task_ClientError_FailsAtOnceAsModelError(int statusCode)
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueError(statusCode);

        // A retry would get this reply and succeed, so a wrong retry fails the test.
        fake.EnqueueReply("must not be reached");

        var id = await factory.SubmitAsync(client, new { input = $"rejected with {statusCode}", maxAttempts = 3 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("failed", task.Status);
        Assert.Equal(1, task.Attempts);
        Assert.NotNull(task.Error);
        Assert.Equal("model_error", task.Error.Type);
        Assert.Contains($"HTTP {statusCode}", task.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, task.Error.Message, StringComparison.Ordinal);
        Assert.Single(fake.Requests);
        Assert.DoesNotContain(await GetEventsAsync(client, id), e => e.Type == "attempt_failed");

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
        Assert.NotNull(task.Error);
        Assert.Equal("timed_out", task.Error.Type);
        Assert.Equal(1, task.Attempts);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(6));
        await WaitUntilAsync(() => fake.ActiveRequests == 0, "the fake's request to be aborted");
        Assert.Single(fake.Requests);

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task RequestTimeout_Hang_RetriesAsTimeout()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake, new() { ["Models:Default:RequestTimeout"] = "00:00:00.500" });
        using var client = factory.CreateAuthenticatedClient();
        fake.EnqueueHang();
        fake.EnqueueReply("answered in time");

        var id = await factory.SubmitAsync(client, new { input = "slow, then fast", maxAttempts = 2 }).WaitAsync(Timeout);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id).WaitAsync(Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(2, task.Attempts);
        Assert.Equal("answered in time", task.Result?.Text);
        var failed = Assert.Single(await GetEventsAsync(client, id), e => e.Type == "attempt_failed");
        Assert.Equal("model_timeout", failed.Data!.Value.GetProperty("error").GetProperty("type").GetString());
        await WaitUntilAsync(() => fake.ActiveRequests == 0, "the timed-out request to be aborted");

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
        Assert.NotNull(task.Error);
        Assert.Equal("cancelled", task.Error.Type);
        Assert.Equal(1, task.Attempts);
        await WaitUntilAsync(() => fake.ActiveRequests == 0, "the fake's request to be aborted");
        Assert.Single(fake.Requests);

        AssertApiKeyNotLogged(factory);
    }

    [Fact]
    public async Task MaxConcurrentRequests_SixTasks_AtMostTwoAtOnce()
    {
        const int taskCount = 6;
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartServiceAsync(fake, new()
        {
            ["Models:Default:MaxConcurrentRequests"] = "2",
            ["Queues:WorkerCount"] = "6",

            // Keeps the lane from being the limit, so that only the model's limit is measured.
            ["Lanes:main:MaxConcurrent"] = "6",
        });
        using var client = factory.CreateAuthenticatedClient();
        for (var i = 0; i < taskCount; i++)
        {
            fake.EnqueueDelayedReply("slow reply", TimeSpan.FromMilliseconds(300));
        }

        var ids = new List<Guid>();
        for (var i = 0; i < taskCount; i++)
        {
            ids.Add(await factory.SubmitAsync(client, new { input = $"concurrent task {i}" }).WaitAsync(Timeout));
        }

        var tasks = await Task.WhenAll(ids.Select(id => AgentApiFactory.WaitForFinishAsync(client, id))).WaitAsync(Timeout);

        Assert.All(tasks, task => Assert.Equal("succeeded", task.Status));
        Assert.All(tasks, task => Assert.Equal("slow reply", task.Result?.Text));
        Assert.Equal(taskCount, fake.Requests.Count);
        Assert.True(fake.MaxConcurrentRequests <= 2, $"The fake saw {fake.MaxConcurrentRequests} requests at once.");

        // Six workers and six tasks do reach the limit, so a run that never did would mean the
        // tasks ran one by one and the first check proved nothing.
        Assert.Equal(2, fake.MaxConcurrentRequests);

        AssertApiKeyNotLogged(factory);
    }

    private static Task<AgentApiFactory> StartServiceAsync(FakeModelServer fake, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "openai",
            ["Models:Default:Endpoint"] = fake.BaseUrl,
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

    /// <summary>Reads the role and text of each message of a chat completions request body.</summary>
    private static List<(string Role, string Text)> ReadMessages(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("messages").EnumerateArray()
            .Select(message => (message.GetProperty("role").GetString() ?? "", ReadText(message.GetProperty("content"))))
            .ToList();
    }

    /// <summary>Reads message content, which is either a string or an array of text parts.</summary>
    private static string ReadText(JsonElement content) =>
        content.ValueKind == JsonValueKind.String
            ? content.GetString() ?? ""
            : string.Concat(content.EnumerateArray().Select(part => part.GetProperty("text").GetString()));

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


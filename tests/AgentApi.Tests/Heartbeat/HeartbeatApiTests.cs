using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Agents.Tools;
using AgentApi.Security;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Heartbeat;

public sealed class HeartbeatApiTests
{
    private const string MainSession = "agent:general-purpose:main";
    private const string HeartbeatPromptStart = "This is a heartbeat";

    [Fact]
    public async Task Put_InvalidSettings_Is400NamingEachFieldAndChangesNothing()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();

        // The heartbeat service dates the first beat shortly after start-up. Read the state after
        // that, so that the comparison below covers only what the request could have changed.
        var before = await ReadOnceFirstBeatIsDatedAsync(client);

        var response = await client.PutAsJsonAsync("/api/heartbeat", new
        {
            every = "often",
            agent = "no-such-agent",
            workspace = "../up",
            activeHours = new { start = "25:00", end = "6pm", timeZone = "Mars/Olympus" },
        }).WaitAsync(TestTimeouts.Request);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var after = await client.GetStringAsync("/api/heartbeat").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = problem.RootElement.GetProperty("errors");
        foreach (var field in new[] { "every", "agent", "workspace", "activeHours.start", "activeHours.end", "activeHours.timeZone" })
        {
            Assert.True(errors.TryGetProperty(field, out _), $"No error for '{field}'.");
        }

        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Put_EmptyWebhookUrl_RemovesTheWebhook()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Webhooks:Secret"] = "test-webhook-secret-0123456789",
            ["Webhooks:AllowedHosts:0"] = "127.0.0.1",
        });
        using var client = factory.CreateAuthenticatedClient();

        await PutAsync(client, new { webhookUrl = "http://127.0.0.1:9/beats" });
        var set = JsonDocument.Parse(await client.GetStringAsync("/api/heartbeat")).RootElement.GetProperty("webhookUrl").GetString();
        await PutAsync(client, new { every = "45m" });
        var kept = JsonDocument.Parse(await client.GetStringAsync("/api/heartbeat")).RootElement.GetProperty("webhookUrl").GetString();
        await PutAsync(client, new { webhookUrl = "" });
        var removed = JsonDocument.Parse(await client.GetStringAsync("/api/heartbeat")).RootElement.GetProperty("webhookUrl").ValueKind;

        Assert.Equal("http://127.0.0.1:9/beats", set);
        Assert.Equal("http://127.0.0.1:9/beats", kept);
        Assert.Equal(JsonValueKind.Null, removed);
    }

    [Fact]
    public async Task Put_WithReadKey_IsForbidden()
    {
        await using var factory = await StartAsync();
        var readKey = await factory.Services.GetRequiredService<ApiKeyStore>()
            .CreateAsync("heartbeat-read", [ApiKeyScopes.Read], CancellationToken.None).WaitAsync(TestTimeouts.Request);
        using var client = factory.CreateAuthenticatedClient(readKey);

        var read = await client.GetAsync("/api/heartbeat").WaitAsync(TestTimeouts.Request);
        var write = await client.PutAsJsonAsync("/api/heartbeat", new { every = "1m" }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
    }

    [Fact]
    public async Task Beat_ReplyIsToken_IsSuppressedWithoutOutputOrTranscript()
    {
        await using var fake = await FakeModelServer.StartAsync();
        fake.WhenLastUserMessageContains(HeartbeatPromptStart, FakeReply.Text("**HEARTBEAT_OK**"));
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();

        await PutAsync(client, new { every = "1s", checklist = new[] { "Is the disk nearly full?", "Did a backup fail?" } });
        var task = await WaitForBeatAsync(client);
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{task.Id}/events").WaitAsync(TestTimeouts.Request);
        var session = await client.GetAsync($"/api/sessions/{MainSession}").WaitAsync(TestTimeouts.Request);

        Assert.Equal("succeeded", task.Status);
        Assert.True(task.Result!.Suppressed);
        Assert.Equal("heartbeat", task.Origin);
        Assert.Equal("cron", task.Lane);
        Assert.Equal("low", task.Priority);
        Assert.Equal(MainSession, task.SessionKey);
        Assert.DoesNotContain(events!, e => e.Type == "output");
        Assert.True(
            session.StatusCode == HttpStatusCode.NotFound
                || !(await session.Content.ReadAsStringAsync()).Contains(task.Id.ToString(), StringComparison.Ordinal),
            "The suppressed beat is in the main session's transcript.");
        var prompt = fake.Requests.First(r => r.LastUserMessage?.StartsWith(HeartbeatPromptStart, StringComparison.Ordinal) == true).LastUserMessage!;
        Assert.Contains("Is the disk nearly full?", prompt, StringComparison.Ordinal);
        Assert.Contains("Did a backup fail?", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Beat_ReplyNeedsAttention_IsAnnouncedAndKeptInTheSession()
    {
        await using var fake = await FakeModelServer.StartAsync();
        fake.WhenLastUserMessageContains(HeartbeatPromptStart, FakeReply.Text("The disk /var is 95% full."));
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();

        await PutAsync(client, new { every = "1s", checklist = new[] { "Is the disk nearly full?" } });
        var task = await WaitForBeatAsync(client);
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{task.Id}/events").WaitAsync(TestTimeouts.Request);
        var session = await client.GetStringAsync($"/api/sessions/{MainSession}").WaitAsync(TestTimeouts.Request);

        Assert.False(task.Result!.Suppressed);
        var output = Assert.Single(events!, e => e.Type == "output");
        Assert.Equal("The disk /var is 95% full.", output.Data!.Value.GetProperty("text").GetString());
        Assert.Contains("95% full", session, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Beat_UserWorkArrivesForItsSession_BeatYieldsAndUserTaskRuns()
    {
        await using var fake = await FakeModelServer.StartAsync();
        fake.WhenLastUserMessageContains(HeartbeatPromptStart, FakeReply.Hang());
        fake.WhenLastUserMessageContains("user question", FakeReply.Text("The user's answer."));
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();

        await PutAsync(client, new { every = "1s", checklist = new[] { "Anything new?" } });
        var beat = await WaitForBeatAsync(client, task => task.Status == "running");
        await PutAsync(client, new { every = "1h" });
        var userTaskId = await factory.SubmitAsync(client, new { input = "A user question", sessionKey = MainSession });
        var user = await AgentApiFactory.WaitForFinishAsync(client, userTaskId);
        var yielded = await AgentApiFactory.WaitForFinishAsync(client, beat.Id);

        Assert.Equal("cancelled", yielded.Status);
        Assert.Equal("succeeded", user.Status);
        Assert.Equal("The user's answer.", user.Result!.Text);
    }

    [Fact]
    public async Task Beat_OutsideActiveHours_IsSkippedUntilTheWindowOpens()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        var now = TimeProvider.System.GetUtcNow();
        var later = now.AddHours(2).UtcDateTime;
        var start = new TimeOnly(later.Hour, later.Minute);
        var end = start.AddHours(1);

        await PutAsync(client, new
        {
            every = "1s",
            checklist = new[] { "Anything new?" },
            activeHours = new { start = start.ToString("HH:mm"), end = end.ToString("HH:mm"), timeZone = "UTC" },
        });
        var state = await WaitForStateAsync(client, s => s.GetProperty("lastOutcome").GetString() == "skipped_inactive");

        var next = state.GetProperty("nextBeatAt").GetDateTimeOffset();
        Assert.Equal(start, TimeOnly.FromDateTime(next.UtcDateTime));
        Assert.Equal(0, next.Second);
        Assert.InRange(next - now, TimeSpan.FromHours(1), TimeSpan.FromHours(2.1));
        Assert.Equal(JsonValueKind.Null, state.GetProperty("lastTaskId").ValueKind);
    }

    [Fact]
    public async Task Beat_ChecklistFileWithOnlyHeadings_IsSkipped()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        var workspace = factory.Services.GetRequiredService<WorkspaceProvider>().GetPath("hb-headings");
        await File.WriteAllTextAsync(Path.Combine(workspace, "HEARTBEAT.md"), "# Heartbeat\n\n## Daily\n");

        await PutAsync(client, new { every = "1s", workspace = "hb-headings", checklist = Array.Empty<string>() });
        var state = await WaitForStateAsync(client, s => s.GetProperty("lastOutcome").GetString() == "skipped_empty");

        Assert.Equal(JsonValueKind.Null, state.GetProperty("lastTaskId").ValueKind);
        Assert.Equal(JsonValueKind.Null, state.GetProperty("checklist").ValueKind);
    }

    [Fact]
    public async Task TwoInstances_OneDatabase_EachBeatRunsOnce()
    {
        await using var first = await StartAsync();
        await using var second = await AgentApiFactory.StartPostgresOnAsync(first.PostgresConnectionString!, new Dictionary<string, string?>
        {
            ["Heartbeat:PollInterval"] = "00:00:00.100",
        });
        using var client = first.CreateAuthenticatedClient();

        var startedAt = TimeProvider.System.GetUtcNow();
        await PutAsync(client, new { every = "1s", checklist = new[] { "Anything new?" } });
        await Task.Delay(TimeSpan.FromSeconds(5));
        await PutAsync(client, new { every = "0" });
        var elapsed = TimeProvider.System.GetUtcNow() - startedAt;
        await using var db = first.CreateDbContext();
        var beats = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            db.Tasks.Where(task => task.Origin == "heartbeat").OrderBy(task => task.CreatedAt));

        Assert.InRange(beats.Count, 2, (int)elapsed.TotalSeconds + 1);
        Assert.Equal(beats.Count, beats.Select(task => task.IdempotencyKey).Distinct().Count());
        Assert.All(beats.Zip(beats.Skip(1)), pair => Assert.True(
            pair.Second.CreatedAt - pair.First.CreatedAt > TimeSpan.FromMilliseconds(500),
            $"Beats {pair.First.Id} and {pair.Second.Id} started {pair.Second.CreatedAt - pair.First.CreatedAt} apart."));
    }

    /// <summary>Returns the body of <c>GET /api/heartbeat</c> once its <c>nextBeatAt</c> is set.</summary>
    private static async Task<string> ReadOnceFirstBeatIsDatedAsync(HttpClient client)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var body = await client.GetStringAsync("/api/heartbeat").WaitAsync(TestTimeouts.Request);
            using var state = JsonDocument.Parse(body);
            if (state.RootElement.GetProperty("nextBeatAt").ValueKind != JsonValueKind.Null)
            {
                return body;
            }

            Assert.True(waited.Elapsed < TestTimeouts.Request, "The heartbeat service did not date the first beat.");
            await Task.Delay(50);
        }
    }

    private static Task<AgentApiFactory> StartAsync(FakeModelServer? fake = null)
    {
        var settings = new Dictionary<string, string?> { ["Heartbeat:PollInterval"] = "00:00:00.200" };
        if (fake is not null)
        {
            settings["Models:Default:Provider"] = "openai";
            settings["Models:Default:Endpoint"] = fake.BaseUrl;
            settings["Models:Default:Model"] = "gpt-test";
            settings["Models:Default:ApiKey"] = "sk-test";
        }

        return AgentApiFactory.StartPostgresAsync(settings);
    }

    private static async Task PutAsync(HttpClient client, object body)
    {
        var response = await client.PutAsJsonAsync("/api/heartbeat", body).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonElement> WaitForStateAsync(HttpClient client, Func<JsonElement, bool> predicate)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        while (true)
        {
            using var document = JsonDocument.Parse(await client.GetStringAsync("/api/heartbeat").WaitAsync(TestTimeouts.Request));
            if (predicate(document.RootElement))
            {
                return document.RootElement.Clone();
            }

            Assert.True(TimeProvider.System.GetUtcNow() < deadline, "The heartbeat did not reach the expected state.");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the first beat's task, and then for it to satisfy <paramref name="predicate"/> (by default, to finish).</summary>
    private static async Task<TaskDto> WaitForBeatAsync(HttpClient client, Func<TaskDto, bool>? predicate = null)
    {
        var state = await WaitForStateAsync(client, s => s.GetProperty("lastTaskId").ValueKind == JsonValueKind.String);
        var taskId = state.GetProperty("lastTaskId").GetGuid();
        return predicate is null
            ? await AgentApiFactory.WaitForFinishAsync(client, taskId)
            : await AgentApiFactory.WaitForTaskAsync(client, taskId, predicate);
    }
}

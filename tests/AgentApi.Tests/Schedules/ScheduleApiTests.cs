using System.Net;
using System.Net.Http.Json;
using AgentApi.Schedules;
using AgentApi.Security;
using AgentApi.Tests.Infrastructure;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Schedules;

/// <summary>Creating, reading, changing and deleting schedules, and their agreement with Hangfire.</summary>
public sealed class ScheduleApiTests(PostgresAppFixture fixture) : IClassFixture<PostgresAppFixture>
{
    private AgentApiFactory Factory => fixture.Factory;

    public static TheoryData<string, object, string, string> InvalidBodies => new()
    {
        { "bad-cron", new { id = "bad-cron", cron = "61 * * * *", timeZone = "UTC", task = new { input = "x" } }, "cron", "Minutes" },
        { "few-fields", new { id = "few-fields", cron = "* * *", timeZone = "UTC", task = new { input = "x" } }, "cron", "3 fields" },
        { "mars", new { id = "mars", cron = "@daily", timeZone = "Mars/Olympus", task = new { input = "x" } }, "timeZone", "Mars/Olympus" },
        { "windows-zone", new { id = "windows-zone", cron = "@daily", timeZone = "Eastern Standard Time", task = new { input = "x" } }, "timeZone", "IANA" },
        { "no-zone", new { id = "no-zone", cron = "@daily", task = new { input = "x" } }, "timeZone", "Required" },
        { "past", new { id = "past", at = "2020-01-01T00:00:00Z", task = new { input = "x" } }, "at", "not in the future" },
        { "no-offset", new { id = "no-offset", at = "2099-01-01T00:00:00", task = new { input = "x" } }, "at", "offset" },
        { "both", new { id = "both", cron = "@daily", at = "2099-01-01T00:00:00Z", timeZone = "UTC", task = new { input = "x" } }, "cron", "not both" },
        { "neither", new { id = "neither", timeZone = "UTC", task = new { input = "x" } }, "cron", "Required" },
        { "no-task", new { id = "no-task", cron = "@daily", timeZone = "UTC" }, "task", "Required" },
        { "no-input", new { id = "no-input", cron = "@daily", timeZone = "UTC", task = new { agent = "general-purpose" } }, "task.input", "required" },
        { "bad-priority", new { id = "bad-priority", cron = "@daily", timeZone = "UTC", task = new { input = "x", priority = "urgent" } }, "task.priority", "urgent" },
        { "bad-lane", new { id = "bad-lane", cron = "@daily", timeZone = "UTC", task = new { input = "x", lane = "nowhere" } }, "task.lane", "nowhere" },
        { "bad-agent", new { id = "bad-agent", cron = "@daily", timeZone = "UTC", task = new { input = "x", agent = "nobody" } }, "task.agent", "nobody" },
        { "reserved", new { id = "reserved", cron = "@daily", timeZone = "UTC", task = new { input = "x", metadata = new { schedule = 1 } } }, "task.metadata", "reserved" },
        { "bad-overlap", new { id = "bad-overlap", cron = "@daily", timeZone = "UTC", overlap = "queue", task = new { input = "x" } }, "overlap", "skip, allow" },
        { "bad-catch-up", new { id = "bad-catch-up", cron = "@daily", timeZone = "UTC", catchUp = "some", task = new { input = "x" } }, "catchUp", "skip, once, all" },
        { "bad-webhook", new { id = "bad-webhook", cron = "@daily", timeZone = "UTC", webhookUrl = "ftp://example.com", task = new { input = "x" } }, "webhookUrl", "http" },
        { "bad id!", new { id = "bad id!", cron = "@daily", timeZone = "UTC", task = new { input = "x" } }, "id", "letters, digits" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Create_InvalidBody_Returns400StoresNothing(string id, object body, string field, string expected)
    {
        using var client = Factory.CreateAuthenticatedClient();

        using var response = await client.PostAsJsonAsync("/api/schedules", body).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDto>().WaitAsync(TestTimeouts.Request);
        Assert.NotNull(problem!.Errors);
        Assert.True(problem.Errors.ContainsKey(field), $"No error for '{field}'; got {string.Join(", ", problem.Errors.Keys)}.");
        Assert.Contains(problem.Errors[field], message => message.Contains(expected, StringComparison.OrdinalIgnoreCase));
        Assert.Null(await ScheduleClient.GetAsync(client, Uri.EscapeDataString(id)));
        Assert.Empty(ReadRecurringJobs([id]));
    }

    [Fact]
    public async Task Create_Daily_MatchesHangfireRecurringJob()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var created = await ScheduleClient.CreateAsync(client, new
        {
            id = "daily-report",
            cron = "0 9 * * *",
            timeZone = "America/New_York",
            task = new { input = "Summarise yesterday's tickets" },
        });

        var job = Assert.Single(ReadRecurringJobs(["daily-report"]));
        Assert.Equal("schedule:daily-report", job.Id);
        Assert.Equal("0 9 * * *", job.Cron);
        Assert.Equal("America/New_York", job.TimeZoneId);
        Assert.Equal(new DateTimeOffset(job.NextExecution!.Value, TimeSpan.Zero), created.NextRunAt);
        var expected = CronSchedule.Parse("0 9 * * *").NextAfter(created.CreatedAt, TimeZoneInfo.FindSystemTimeZoneById("America/New_York"));
        Assert.Equal(expected, created.NextRunAt);
        Assert.Equal("schedule:daily-report", created.HangfireJobId);
        Assert.True(created.Enabled);
        Assert.Equal("skip", created.Overlap);
        Assert.Equal("skip", created.CatchUp);
        Assert.Null(created.LastRunAt);
        Assert.Equal("Summarise yesterday's tickets", created.Task.GetProperty("input").GetString());
        var read = await ScheduleClient.GetAsync(client, "daily-report");
        Assert.Equal(created, read! with { Task = created.Task });
    }

    [Theory]
    [InlineData("macro-daily", "@daily")]
    [InlineData("macro-hourly", "@hourly")]
    [InlineData("macro-weekly", "@weekly")]
    [InlineData("six-fields", "30 0 12 * * *")]
    [InlineData("five-fields", "15 6 * * 1-5")]
    public async Task Create_FieldsAndMacros_NextRunMatchesHangfire(string id, string cron)
    {
        using var client = Factory.CreateAuthenticatedClient();

        var created = await ScheduleClient.CreateAsync(client, new { id, cron, timeZone = "Europe/Berlin", task = new { input = "x" } });

        var job = Assert.Single(ReadRecurringJobs([id]));
        Assert.Equal(new DateTimeOffset(job.NextExecution!.Value, TimeSpan.Zero), created.NextRunAt);
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        Assert.Equal(CronSchedule.Parse(cron).NextAfter(created.CreatedAt, berlin), created.NextRunAt);
    }

    [Fact]
    public async Task Create_ExistingId_Returns409()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var body = new { id = "taken", cron = "@daily", timeZone = "UTC", task = new { input = "x" } };
        await ScheduleClient.CreateAsync(client, body);

        using var response = await client.PostAsJsonAsync("/api/schedules", body).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDto>().WaitAsync(TestTimeouts.Request);
        Assert.Contains("taken", problem!.Detail);
    }

    [Fact]
    public async Task Create_BeyondMaxCount_Returns409()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?> { ["Schedules:MaxCount"] = "2" });
        using var client = factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "one", cron = "@daily", timeZone = "UTC", task = new { input = "x" } });
        await ScheduleClient.CreateAsync(client, new { id = "two", cron = "@daily", timeZone = "UTC", task = new { input = "x" } });

        using var response = await client.PostAsJsonAsync(
            "/api/schedules", new { id = "three", cron = "@daily", timeZone = "UTC", task = new { input = "x" } }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDto>().WaitAsync(TestTimeouts.Request);
        Assert.Contains("Schedules:MaxCount", problem!.Detail);
        var listed = await client.GetFromJsonAsync<List<ScheduleDto>>("/api/schedules").WaitAsync(TestTimeouts.Request);
        Assert.Equal(["one", "two"], listed!.Select(schedule => schedule.Id));
        using var connection = factory.Services.GetRequiredService<JobStorage>().GetConnection();
        Assert.DoesNotContain(connection.GetRecurringJobs(), job => job.Id.Contains("three", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Update_NewCronAndDisable_FollowInHangfire()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "changing", cron = "0 9 * * *", timeZone = "UTC", task = new { input = "x" } });

        using var changed = await client.PutAsJsonAsync("/api/schedules/changing", new
        {
            cron = "0 18 * * *",
            timeZone = "Asia/Tokyo",
            overlap = "allow",
            catchUp = "once",
            task = new { input = "evening" },
        }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var updated = await changed.Content.ReadFromJsonAsync<ScheduleDto>().WaitAsync(TestTimeouts.Request);
        var job = Assert.Single(ReadRecurringJobs(["changing"]));
        Assert.Equal("0 18 * * *", job.Cron);
        Assert.Equal("Asia/Tokyo", job.TimeZoneId);
        Assert.Equal(new DateTimeOffset(job.NextExecution!.Value, TimeSpan.Zero), updated!.NextRunAt);
        Assert.Equal("allow", updated.Overlap);
        Assert.Equal("once", updated.CatchUp);
        Assert.Equal("evening", updated.Task.GetProperty("input").GetString());

        using var disabled = await client.PutAsJsonAsync("/api/schedules/changing", new
        {
            cron = "0 18 * * *",
            timeZone = "Asia/Tokyo",
            enabled = false,
            task = new { input = "evening" },
        }).WaitAsync(TestTimeouts.Request);
        var off = await disabled.Content.ReadFromJsonAsync<ScheduleDto>().WaitAsync(TestTimeouts.Request);
        Assert.False(off!.Enabled);
        Assert.Null(off.NextRunAt);
        Assert.Empty(ReadRecurringJobs(["changing"]));
        Assert.NotNull(await ScheduleClient.GetAsync(client, "changing"));

        using var enabled = await client.PutAsJsonAsync("/api/schedules/changing", new
        {
            cron = "0 18 * * *",
            timeZone = "Asia/Tokyo",
            task = new { input = "evening" },
        }).WaitAsync(TestTimeouts.Request);
        var on = await enabled.Content.ReadFromJsonAsync<ScheduleDto>().WaitAsync(TestTimeouts.Request);
        Assert.True(on!.Enabled);
        Assert.Single(ReadRecurringJobs(["changing"]));
        Assert.NotNull(on.NextRunAt);
    }

    [Fact]
    public async Task Update_Unknown_Returns404AndInvalid_Returns400()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "kept", cron = "@daily", timeZone = "UTC", task = new { input = "x" } });

        using var unknown = await client.PutAsJsonAsync("/api/schedules/never-created", new { cron = "@daily", timeZone = "UTC", task = new { input = "x" } })
            .WaitAsync(TestTimeouts.Request);
        using var invalid = await client.PutAsJsonAsync("/api/schedules/kept", new { cron = "@daily", timeZone = "Nowhere/Else", task = new { input = "x" } })
            .WaitAsync(TestTimeouts.Request);
        using var otherId = await client.PutAsJsonAsync("/api/schedules/kept", new { id = "other", cron = "@daily", timeZone = "UTC", task = new { input = "x" } })
            .WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, otherId.StatusCode);
        var kept = await ScheduleClient.GetAsync(client, "kept");
        Assert.Equal("UTC", kept!.TimeZone);
    }

    [Fact]
    public async Task Delete_RemovesScheduleAndRecurringJob()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "short-lived", cron = "@hourly", timeZone = "UTC", task = new { input = "x" } });

        await ScheduleClient.DeleteAsync(client, "short-lived");

        Assert.Null(await ScheduleClient.GetAsync(client, "short-lived"));
        Assert.Empty(ReadRecurringJobs(["short-lived"]));
        using var again = await client.DeleteAsync("/api/schedules/short-lived").WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task RecurringJob_RemovedInHangfire_ScheduleIsGone()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "removed-in-dashboard", cron = "@hourly", timeZone = "UTC", task = new { input = "x" } });

        // What the dashboard's "Delete" button on the recurring jobs page does.
        Factory.Services.GetRequiredService<IRecurringJobManager>().RemoveIfExists("schedule:removed-in-dashboard");

        Assert.Null(await ScheduleClient.GetAsync(client, "removed-in-dashboard"));
        var all = await client.GetFromJsonAsync<List<ScheduleDto>>("/api/schedules").WaitAsync(TestTimeouts.Request);
        Assert.DoesNotContain(all!, schedule => schedule.Id == "removed-in-dashboard");
        await ScheduleClient.CreateAsync(client, new { id = "removed-in-dashboard", cron = "@daily", timeZone = "UTC", task = new { input = "x" } });
    }

    [Fact]
    public async Task OneShot_DeletedInHangfire_ScheduleIsGone()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var created = await ScheduleClient.CreateAsync(client, new { id = "one-shot-deleted", at = "2099-06-01T08:00:00+02:00", task = new { input = "x" } });
        Assert.Equal(new DateTimeOffset(2099, 6, 1, 6, 0, 0, TimeSpan.Zero), created.At);
        Assert.Equal(created.At, created.NextRunAt);
        Assert.Equal("UTC", created.TimeZone);

        Factory.Services.GetRequiredService<IBackgroundJobClient>().Delete(created.HangfireJobId!);

        Assert.Null(await ScheduleClient.GetAsync(client, "one-shot-deleted"));
    }

    [Fact]
    public async Task ReadOnlyKey_ReadsButCannotChange()
    {
        var key = await Factory.Services.GetRequiredService<ApiKeyStore>()
            .CreateAsync("schedules-reader", [ApiKeyScopes.Read], CancellationToken.None)
            .WaitAsync(TestTimeouts.Request);
        using var admin = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(admin, new { id = "read-only-view", cron = "@daily", timeZone = "UTC", task = new { input = "x" } });
        using var reader = Factory.CreateAuthenticatedClient(key);

        using var list = await reader.GetAsync("/api/schedules").WaitAsync(TestTimeouts.Request);
        using var create = await reader.PostAsJsonAsync("/api/schedules", new { id = "by-reader", cron = "@daily", timeZone = "UTC", task = new { input = "x" } })
            .WaitAsync(TestTimeouts.Request);
        using var trigger = await reader.PostAsync("/api/schedules/read-only-view/trigger", content: null).WaitAsync(TestTimeouts.Request);
        using var delete = await reader.DeleteAsync("/api/schedules/read-only-view").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, trigger.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
    }

    [Fact]
    public async Task Runs_UnknownScheduleOrBadLimit_AreRejected()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "with-runs", cron = "@daily", timeZone = "UTC", task = new { input = "x" } });

        using var unknown = await client.GetAsync("/api/schedules/no-such-schedule/runs").WaitAsync(TestTimeouts.Request);
        using var badLimit = await client.GetAsync("/api/schedules/with-runs/runs?limit=0").WaitAsync(TestTimeouts.Request);
        var none = await ScheduleClient.GetRunsAsync(client, "with-runs");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Empty(none);
    }

    private List<RecurringJobDto> ReadRecurringJobs(IEnumerable<string> scheduleIds)
    {
        using var connection = Factory.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs(scheduleIds.Select(id => "schedule:" + id)).Where(job => !job.Removed).ToList();
    }
}

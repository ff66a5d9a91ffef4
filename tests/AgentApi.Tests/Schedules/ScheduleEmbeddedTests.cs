using System.Net;
using System.Net.Http.Json;
using AgentApi.Agents;
using AgentApi.Tests.Agents;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Schedules;

/// <summary>Schedules in embedded mode, where Hangfire keeps its jobs in memory only.</summary>
public sealed class ScheduleEmbeddedTests
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Embedded_Restart_RecreatesJobsAndCatchesUp()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-schedules-").FullName;
        DateTimeOffset nextRunAt;
        await using (var first = AgentApiFactory.StartEmbedded(ScheduleAppFixture.FastSweep(), dataDirectory))
        {
            using var client = first.CreateAuthenticatedClient();
            await ScheduleClient.CreateAsync(client, new { id = "embedded-fast", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", catchUp = "once", task = new { input = "tick" } });
            var created = await ScheduleClient.CreateAsync(client, new { id = "embedded-daily", cron = "0 7 * * *", timeZone = "Australia/Sydney", task = new { input = "daily" } });
            nextRunAt = created.NextRunAt!.Value;
            await ScheduleClient.WaitForRunsAsync(client, "embedded-fast", runs => runs.Any(run => run.TaskStatus == "succeeded"));
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        await using var second = AgentApiFactory.StartEmbedded(ScheduleAppFixture.FastSweep(), dataDirectory);
        var startedAt = TimeProvider.System.GetUtcNow();
        using var secondClient = second.CreateAuthenticatedClient();

        var runs = await ScheduleClient.WaitForRunsAsync(secondClient, "embedded-fast", runs =>
            runs.Any(run => run.Trigger == "schedule" && run.Outcome == "ran" && run.ScheduledAt > startedAt)
            && runs.Any(run => run.Trigger == "catch_up")
            && ScheduleClient.IsContiguous(runs, TwoSeconds));
        var daily = await ScheduleClient.GetAsync(secondClient, "embedded-daily");

        ScheduleClient.AssertEachSlotOnce(runs, TwoSeconds);
        var caughtUp = runs.Where(run => run.Trigger == "catch_up").OrderBy(run => run.ScheduledAt).ToList();
        Assert.Equal("ran", caughtUp[^1].Outcome);
        Assert.All(caughtUp[..^1], run => Assert.Equal("missed", run.Outcome));
        Assert.NotNull(daily);
        Assert.Equal(nextRunAt, daily.NextRunAt);
        Assert.NotNull(daily.HangfireJobId);
    }

    [Fact]
    public async Task AgentRemoved_TriggerIs422AndSlotsAreMissed()
    {
        var root = Directory.CreateTempSubdirectory("agentapi-schedule-agents-").FullName;
        File.WriteAllText(Path.Combine(root, "nightly.md"), AgentDirectoryLoaderTests.AgentFile("nightly", "Runs at night."));
        var settings = ScheduleAppFixture.FastSweep();
        settings["Agents:Directory"] = root;
        await using var factory = AgentApiFactory.StartEmbedded(settings);
        using var client = factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "needs-nightly", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", task = new { input = "x", agent = "nightly" } });
        await ScheduleClient.WaitForRunsAsync(client, "needs-nightly", runs => runs.Any(run => run.Outcome == "ran"));

        File.Delete(Path.Combine(root, "nightly.md"));
        factory.Services.GetRequiredService<AgentCatalog>().Reload();
        var removedAt = TimeProvider.System.GetUtcNow();
        using var trigger = await client.PostAsync("/api/schedules/needs-nightly/trigger", content: null).WaitAsync(TestTimeouts.Request);
        var runs = await ScheduleClient.WaitForRunsAsync(client, "needs-nightly", runs =>
            runs.Any(run => run.Trigger == "schedule" && run.ScheduledAt > removedAt));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, trigger.StatusCode);
        var problem = await trigger.Content.ReadFromJsonAsync<ProblemDto>().WaitAsync(TestTimeouts.Request);
        Assert.Contains("task.agent", problem!.Detail);
        Assert.Contains("nightly", problem.Detail);
        Assert.DoesNotContain(runs, run => run.Trigger == "manual");
        Assert.All(runs.Where(run => run.ScheduledAt > removedAt), run => Assert.Equal(("missed", null), (run.Outcome, run.TaskId)));
    }
}

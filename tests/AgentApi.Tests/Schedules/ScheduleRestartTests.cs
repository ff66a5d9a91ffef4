using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Schedules;

/// <summary>Schedules across a stop and a start of the service, with slots that fell in between.</summary>
public sealed class ScheduleRestartTests
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);

    /// <summary>Long enough for at least two slots that Hangfire will not fire after the start.</summary>
    private static readonly TimeSpan Downtime = TimeSpan.FromSeconds(7);

    [Fact]
    public async Task Restart_JustAfterSlot_NoRerunAndCatchesUp()
    {
        string connectionString;
        DateTimeOffset stoppedAt;
        await using (var first = await AgentApiFactory.StartPostgresAsync(ScheduleAppFixture.FastSweep()))
        {
            connectionString = first.PostgresConnectionString!;
            using var client = first.CreateAuthenticatedClient();
            // Overlap is allowed: a task in flight at the stop is handed back and runs at the start,
            // and under the skip policy it could turn a catch-up into skipped_overlap, as one CI
            // run saw. ScheduleOverlapTests covers the skip policy.
            foreach (var policy in new[] { "skip", "once", "all" })
            {
                await ScheduleClient.CreateAsync(client, new { id = $"restart-{policy}", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", catchUp = policy, overlap = "allow", task = new { input = policy } });
            }

            // Stop right after a slot ran, so that the restart could run it again if nothing stopped it.
            await ScheduleClient.WaitForRunsAsync(client, "restart-all", runs => runs.Any(run => run.TaskStatus == "succeeded"));
            stoppedAt = TimeProvider.System.GetUtcNow();
        }

        await Task.Delay(Downtime);
        await using var second = await AgentApiFactory.StartPostgresOnAsync(connectionString, ScheduleAppFixture.FastSweep());
        var startedAt = TimeProvider.System.GetUtcNow();
        using var secondClient = second.CreateAuthenticatedClient();

        var byPolicy = new Dictionary<string, List<RunDto>>();
        foreach (var policy in new[] { "skip", "once", "all" })
        {
            // Every slot up to the start has a row once the sweep has looked at the last seconds too.
            byPolicy[policy] = await ScheduleClient.WaitForRunsAsync(secondClient, $"restart-{policy}", runs =>
                runs.Any(run => run.Trigger == "schedule" && run.Outcome == "ran" && run.ScheduledAt > startedAt)
                && runs.Count(run => run.Trigger == "catch_up") >= 2
                && ScheduleClient.IsContiguous(runs, TwoSeconds));
        }

        foreach (var (policy, runs) in byPolicy)
        {
            ScheduleClient.AssertEachSlotOnce(runs, TwoSeconds);
            var caughtUp = runs.Where(run => run.Trigger == "catch_up").ToList();
            Assert.All(caughtUp, run => Assert.True(run.ScheduledAt > stoppedAt - TwoSeconds && run.ScheduledAt < startedAt, $"{policy}: catch-up slot {run.ScheduledAt:O} is not from the downtime."));
            Assert.All(runs.Where(run => run.ScheduledAt < stoppedAt - TwoSeconds), run => Assert.Equal("schedule", run.Trigger));
        }

        Assert.All(byPolicy["skip"].Where(run => run.Trigger == "catch_up"), run => Assert.Equal(("missed", null), (run.Outcome, run.TaskId)));

        var once = byPolicy["once"].Where(run => run.Trigger == "catch_up").OrderBy(run => run.ScheduledAt).ToList();
        Assert.Equal("ran", once[^1].Outcome);
        Assert.NotNull(once[^1].TaskId);
        Assert.All(once[..^1], run => Assert.Equal("missed", run.Outcome));

        Assert.All(byPolicy["all"].Where(run => run.Trigger == "catch_up"), run => Assert.Equal("ran", run.Outcome));
        var finished = await ScheduleClient.WaitForTasksFinishedAsync(secondClient, "restart-all");
        Assert.All(finished.Where(run => run.TaskId is not null), run => Assert.Equal("succeeded", run.TaskStatus));
    }
}

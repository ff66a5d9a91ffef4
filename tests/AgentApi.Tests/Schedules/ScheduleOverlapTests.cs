using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Schedules;

/// <summary>The overlap policy and task deadlines, with a model that takes 3 seconds per reply and a slot every 2 seconds.</summary>
public sealed class ScheduleOverlapTests : IAsyncLifetime
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);

    private AgentApiFactory? _factory;

    private AgentApiFactory Factory => _factory!;

    public async Task InitializeAsync() => _factory = await AgentApiFactory.StartPostgresAsync(ScheduleAppFixture.FastSweep(modelLatencyMs: 3000));

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    [Fact]
    public async Task Overlap_RunOutlastsInterval_SkipsOrOverlaps()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "overlap-skip", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", task = new { input = "slow" } });
        await ScheduleClient.CreateAsync(client, new { id = "overlap-allow", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", overlap = "allow", task = new { input = "slow" } });

        var skip = await ScheduleClient.WaitForRunsAsync(client, "overlap-skip", runs =>
            runs.Count(run => run.Outcome == "ran") >= 2 && runs.Any(run => run.Outcome == "skipped_overlap"));
        var allow = await ScheduleClient.WaitForRunsAsync(client, "overlap-allow", runs => runs.Count(run => run.Outcome == "ran") >= 3);

        ScheduleClient.AssertEachSlotOnce(skip, TwoSeconds);
        Assert.All(skip.Where(run => run.Outcome == "skipped_overlap"), run => Assert.Null(run.TaskId));

        // With 'skip', a run starts only after the previous run's task finished.
        var skipRan = skip.Where(run => run.Outcome == "ran").OrderBy(run => run.ScheduledAt).ToList();
        for (var index = 1; index < skipRan.Count; index++)
        {
            var previous = await AgentApiFactory.WaitForFinishAsync(client, skipRan[index - 1].TaskId!.Value);
            Assert.True(previous.FinishedAt <= skipRan[index].StartedAt, $"Run {skipRan[index].ScheduledAt:O} started before the task of {skipRan[index - 1].ScheduledAt:O} finished.");
        }

        // With 'allow', every slot runs, and the second starts while the first is still running.
        ScheduleClient.AssertEachSlotOnce(allow, TwoSeconds);
        Assert.All(allow, run => Assert.Equal("ran", run.Outcome));
        var allowRan = allow.OrderBy(run => run.ScheduledAt).ToList();
        var first = await AgentApiFactory.WaitForFinishAsync(client, allowRan[0].TaskId!.Value);
        Assert.True(first.FinishedAt > allowRan[1].StartedAt, "The second run of 'allow' did not start while the first was running.");
    }

    [Fact]
    public async Task Deadline_HungRun_TimesOutAndLaterSlotsRun()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "hangs", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", task = new { input = "never answers in time", timeoutSeconds = 1 } });

        var runs = await ScheduleClient.WaitForRunsAsync(client, "hangs", runs =>
            runs.Count(run => run.TaskStatus == "timed_out") >= 3);

        ScheduleClient.AssertEachSlotOnce(runs, TwoSeconds);
        var timedOut = runs.Where(run => run.TaskStatus == "timed_out").ToList();
        Assert.All(runs.Where(run => run.TaskId is not null && run.TaskStatus is not ("queued" or "running")), run => Assert.Equal("timed_out", run.TaskStatus));

        // A slot may still be skipped while a run is within its deadline, on a slow machine; a
        // timed-out run that kept blocking would have allowed only one run, not three.
        foreach (var run in timedOut)
        {
            var task = await AgentApiFactory.WaitForFinishAsync(client, run.TaskId!.Value);
            Assert.Equal("timed_out", task.Error!.Type);
            Assert.True(task.FinishedAt - task.CreatedAt < TimeSpan.FromSeconds(4), $"Task {task.Id} ended {task.FinishedAt - task.CreatedAt} after it was created, not at its 1 s deadline.");
        }
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Hangfire;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Schedules;

/// <summary>Schedules that run on PostgreSQL, most with a slot every 2 seconds.</summary>
public sealed class ScheduleRunTests(ScheduleAppFixture fixture) : IClassFixture<ScheduleAppFixture>
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);

    private AgentApiFactory Factory => fixture.Factory;

    [Fact]
    public async Task EveryTwoSeconds_WithTriggers_EachSlotOnce()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "every-two", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", task = new { input = "tick" } });
        await ScheduleClient.WaitForRunsAsync(client, "every-two", runs => runs.Any(run => run.Outcome == "ran"));

        var fromApi = await ScheduleClient.TriggerAsync(client, "every-two");
        Factory.Services.GetRequiredService<IRecurringJobManager>().Trigger("schedule:every-two");
        await ScheduleClient.WaitForRunsAsync(client, "every-two", runs =>
            runs.Count(run => run.Trigger == "schedule" && run.Outcome == "ran") >= 3
            && runs.Count(run => run.Trigger == "manual" && run.TaskId is not null) == 2);
        await DisableAsync(client, "every-two", ScheduleClient.EveryTwoSeconds);
        var runs = await ScheduleClient.WaitForTasksFinishedAsync(client, "every-two");

        ScheduleClient.AssertEachSlotOnce(runs, TwoSeconds);
        var manual = runs.Where(run => run.Trigger == "manual").ToList();
        Assert.Equal(2, manual.Count);
        Assert.Contains(manual, run => run.TaskId == fromApi.TaskId && run.Id == fromApi.RunId);
        var ran = runs.Where(run => run.Outcome == "ran").ToList();
        Assert.All(ran, run => Assert.Equal("succeeded", run.TaskStatus));
        Assert.Equal(ran.Count, ran.Select(run => run.TaskId).Distinct().Count());
        Assert.Equal(runs.OrderByDescending(run => run.ScheduledAt).Select(run => run.Id), runs.Select(run => run.Id));

        // No slot submitted a second task that lost the race for its row.
        await using (var db = Factory.CreateDbContext())
        {
            Assert.Equal(ran.Count, await db.Tasks.CountAsync(task => task.Name == "schedule.every-two"));
        }

        foreach (var run in ran.Where(run => run.Trigger == "schedule"))
        {
            var task = await client.GetFromJsonAsync<JsonElement>($"/api/tasks/{run.TaskId}").WaitAsync(TestTimeouts.Request);
            Assert.Equal("cron", task.GetProperty("lane").GetString());
            Assert.Equal($"agent:general-purpose:cron:every-two:{run.Id}", task.GetProperty("sessionKey").GetString());
            var tag = task.GetProperty("metadata").GetProperty("schedule");
            Assert.Equal("every-two", tag.GetProperty("id").GetString());
            Assert.Equal(run.ScheduledAt, tag.GetProperty("scheduledAt").GetDateTimeOffset());
            Assert.Equal(run.Id, tag.GetProperty("runId").GetGuid());
        }
    }

    [Fact]
    public async Task Trigger_FromApi_RunsOnceAndKeepsNextSlot()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var created = await ScheduleClient.CreateAsync(client, new { id = "api-trigger", cron = "0 4 * * *", timeZone = "Europe/Paris", task = new { input = "now please" } });

        using var response = await client.PostAsync("/api/schedules/api-trigger/trigger", content: null).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var trigger = await response.Content.ReadFromJsonAsync<TriggerDto>().WaitAsync(TestTimeouts.Request);
        var task = await AgentApiFactory.WaitForFinishAsync(client, trigger!.TaskId);

        Assert.Equal($"/api/tasks/{trigger.TaskId}", response.Headers.Location?.OriginalString);
        Assert.Equal("succeeded", task.Status);
        var run = Assert.Single(await ScheduleClient.GetRunsAsync(client, "api-trigger"));
        Assert.Equal(("manual", "ran", trigger.TaskId), (run.Trigger, run.Outcome, run.TaskId!.Value));
        var after = await ScheduleClient.GetAsync(client, "api-trigger");
        Assert.Equal(created.NextRunAt, after!.NextRunAt);
        Assert.Equal(run.StartedAt, after.LastRunAt);
        Assert.Equal(created.NextRunAt, NextExecution("api-trigger"));
    }

    [Fact]
    public async Task Trigger_ThroughHangfire_RunsOnceAndKeepsNextSlot()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var created = await ScheduleClient.CreateAsync(client, new { id = "hangfire-trigger", cron = "30 5 * * *", timeZone = "UTC", task = new { input = "from the dashboard" } });

        // What the dashboard's "Trigger now" button calls.
        var manager = (IRecurringJobManagerV2)Factory.Services.GetRequiredService<IRecurringJobManager>();
        var jobId = manager.TriggerJob("schedule:hangfire-trigger");
        var runs = await ScheduleClient.WaitForRunsAsync(client, "hangfire-trigger", runs => runs.Any(run => run.TaskId is not null));
        var task = await AgentApiFactory.WaitForFinishAsync(client, runs[0].TaskId!.Value);

        Assert.NotNull(jobId);
        var run = Assert.Single(runs);
        Assert.Equal(("manual", "ran"), (run.Trigger, run.Outcome));
        Assert.Equal("succeeded", task.Status);
        var after = await ScheduleClient.GetAsync(client, "hangfire-trigger");
        Assert.Equal(created.NextRunAt, after!.NextRunAt);
        Assert.NotNull(after.LastRunAt);
        Assert.Equal(created.NextRunAt, NextExecution("hangfire-trigger"));
        Assert.Single(await ScheduleClient.GetRunsAsync(client, "hangfire-trigger"));
    }

    [Fact]
    public async Task OneShot_At_RunsOnceThenDisabled()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var at = TimeProvider.System.GetUtcNow().AddSeconds(1);
        var created = await ScheduleClient.CreateAsync(client, new { id = "one-shot", at = at.ToString("O"), task = new { input = "once" } });
        Assert.Equal(created.At, created.NextRunAt);

        var runs = await ScheduleClient.WaitForRunsAsync(client, "one-shot", runs => runs.Any(run => run.TaskStatus == "succeeded"));
        var schedule = await WaitForScheduleAsync(client, "one-shot", schedule => !schedule.Enabled);
        await Task.Delay(TimeSpan.FromSeconds(1));

        var run = Assert.Single(runs);
        Assert.Equal(("schedule", "ran"), (run.Trigger, run.Outcome));
        Assert.Equal(created.At, run.ScheduledAt);
        Assert.Null(schedule.NextRunAt);
        Assert.Equal(run.StartedAt, schedule.LastRunAt);
        Assert.Single(await ScheduleClient.GetRunsAsync(client, "one-shot"));
    }

    [Fact]
    public async Task Overlap_TaskPastDeadline_DoesNotBlock()
    {
        using var client = Factory.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "after-hang", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", enabled = false, task = new { input = "x" } });
        await ScheduleClient.CreateAsync(client, new { id = "still-busy", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", enabled = false, task = new { input = "x" } });

        // A run whose task hangs: still marked running, 10 s after a deadline of 1 s. Its lease
        // is held, so recovery leaves it alone, as it would a process stuck in a tool call.
        await InsertRunningTaskAsync("after-hang", age: TimeSpan.FromSeconds(11), timeoutSeconds: 1);
        await InsertRunningTaskAsync("still-busy", age: TimeSpan.FromSeconds(1), timeoutSeconds: 600);
        await EnableAsync(client, "after-hang", ScheduleClient.EveryTwoSeconds);
        await EnableAsync(client, "still-busy", ScheduleClient.EveryTwoSeconds);

        var afterHang = await ScheduleClient.WaitForRunsAsync(client, "after-hang", runs => runs.Count(run => run.Trigger == "schedule") >= 2);
        var stillBusy = await ScheduleClient.WaitForRunsAsync(client, "still-busy", runs => runs.Count(run => run.Trigger == "schedule") >= 2);

        // The first slot can only overlap the hung task, so it must run. A later slot may still
        // overlap that first run's own task on a loaded machine, which is the policy working.
        var firstSlot = afterHang.Where(run => run.Trigger == "schedule").MinBy(run => run.ScheduledAt)!;
        Assert.Equal("ran", firstSlot.Outcome);
        Assert.NotNull(firstSlot.TaskId);
        Assert.All(stillBusy.Where(run => run.Trigger == "schedule"), run => Assert.Equal("skipped_overlap", run.Outcome));
        Assert.All(stillBusy.Where(run => run.Trigger == "schedule"), run => Assert.Null(run.TaskId));
    }

    [Fact]
    public async Task TwoInstances_OneDatabase_EachSlotOnce()
    {
        await using var second = await AgentApiFactory.StartPostgresOnAsync(Factory.PostgresConnectionString!, ScheduleAppFixture.FastSweep());
        using var client = Factory.CreateAuthenticatedClient();
        using var secondClient = second.CreateAuthenticatedClient();
        await ScheduleClient.CreateAsync(client, new { id = "two-instances", cron = ScheduleClient.EveryTwoSeconds, timeZone = "UTC", task = new { input = "shared" } });

        await ScheduleClient.WaitForRunsAsync(secondClient, "two-instances", runs => runs.Count(run => run.Outcome == "ran") >= 3);
        await DisableAsync(secondClient, "two-instances", ScheduleClient.EveryTwoSeconds);
        var runs = await ScheduleClient.WaitForTasksFinishedAsync(client, "two-instances");

        ScheduleClient.AssertEachSlotOnce(runs, TwoSeconds);
        var ran = runs.Where(run => run.Outcome == "ran").ToList();
        Assert.All(ran, run => Assert.Equal("succeeded", run.TaskStatus));
        await using var db = Factory.CreateDbContext();
        Assert.Equal(ran.Count, await db.Tasks.CountAsync(task => task.Name == "schedule.two-instances"));
    }

    private async Task InsertRunningTaskAsync(string scheduleId, TimeSpan age, int timeoutSeconds)
    {
        var now = TimeProvider.System.GetUtcNow();
        var taskId = Guid.CreateVersion7();
        await using var db = Factory.CreateDbContext();
        db.Tasks.Add(new AgentTask
        {
            Id = taskId,
            RootId = taskId,
            Status = AgentTaskStatus.Running,
            Agent = "general-purpose",
            Input = "hangs",
            Queue = "default",
            Lane = "cron",
            TimeoutSeconds = timeoutSeconds,
            MaxAttempts = 1,
            Attempts = 1,
            LeaseOwner = "stuck-instance",
            LeaseToken = 1,
            LeaseExpiresAt = now.AddHours(1),
            CreatedAt = now - age,
            StartedAt = now - age,
        });
        db.ScheduleRuns.Add(new AgentApi.Schedules.ScheduleRun
        {
            Id = Guid.CreateVersion7(),
            ScheduleId = scheduleId,
            ScheduledAt = now - age,
            Trigger = AgentApi.Schedules.ScheduleRunTrigger.Manual,
            Outcome = AgentApi.Schedules.ScheduleRunOutcome.Ran,
            TaskId = taskId,
            StartedAt = now - age,
            RecordedAt = now - age,
        });
        await db.SaveChangesAsync().WaitAsync(TestTimeouts.Request);
    }

    private DateTimeOffset? NextExecution(string scheduleId)
    {
        using var connection = Factory.Services.GetRequiredService<JobStorage>().GetConnection();
        var job = connection.GetRecurringJobs(["schedule:" + scheduleId]).Single();
        return job.NextExecution is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;
    }

    private static Task DisableAsync(HttpClient client, string id, string cron) => PutAsync(client, id, cron, enabled: false);

    private static Task EnableAsync(HttpClient client, string id, string cron) => PutAsync(client, id, cron, enabled: true);

    private static async Task PutAsync(HttpClient client, string id, string cron, bool enabled)
    {
        var current = await ScheduleClient.GetAsync(client, id);
        using var response = await client.PutAsJsonAsync($"/api/schedules/{id}", new { cron, timeZone = "UTC", enabled, task = current!.Task })
            .WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<ScheduleDto> WaitForScheduleAsync(HttpClient client, string id, Func<ScheduleDto, bool> predicate)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        ScheduleDto? last = null;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            last = await ScheduleClient.GetAsync(client, id);
            if (last is not null && predicate(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Schedule '{id}' did not reach the expected state; last: {last}.");
    }
}

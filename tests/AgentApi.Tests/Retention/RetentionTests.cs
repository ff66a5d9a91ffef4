using System.Net;
using AgentApi.Retention;
using AgentApi.Tests.Infrastructure;
using Hangfire;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Retention;

public sealed class RetentionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Purge_OldFinishedTree_IsDeletedAndRecentWorkStays(bool postgres)
    {
        await using var factory = postgres ? await AgentApiFactory.StartPostgresAsync() : AgentApiFactory.StartEmbedded();
        using var client = factory.CreateAuthenticatedClient();
        var old = await factory.SubmitAsync(client, new { input = "old work", subtasks = new[] { new { input = "a" }, new { input = "b" } } });
        var recent = await factory.SubmitAsync(client, new { input = "recent work" });
        await AgentApiFactory.WaitForFinishAsync(client, old);
        await AgentApiFactory.WaitForFinishAsync(client, recent);
        var longAgo = TimeProvider.System.GetUtcNow().AddDays(-40);
        await using (var db = factory.CreateDbContext())
        {
            await db.Tasks.Where(task => task.Id == old || task.RootId == old)
                .ExecuteUpdateAsync(update => update.SetProperty(task => task.FinishedAt, longAgo));
        }

        var purged = await factory.Services.GetRequiredService<RetentionJob>().PurgeAsync(CancellationToken.None).WaitAsync(TestTimeouts.Request);

        Assert.Equal(1, purged);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/tasks/{old}").WaitAsync(TestTimeouts.Request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/tasks/{recent}").WaitAsync(TestTimeouts.Request)).StatusCode);
        await using var check = factory.CreateDbContext();
        Assert.Equal(0, await check.Tasks.CountAsync(task => task.Id == old || task.RootId == old));
        Assert.Equal(0, await check.TaskEvents.CountAsync(taskEvent => taskEvent.TaskId == old));
        Assert.True(await check.TaskEvents.AnyAsync(taskEvent => taskEvent.TaskId == recent));

        // EF Core's warning for Take without OrderBy: the batches' order must not depend on the plan.
        Assert.DoesNotContain(factory.Logs.Entries, entry => entry.EventId.Id == 10102);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Purge_OldFailedJob_IsDeleted(bool postgres)
    {
        Dictionary<string, string?> settings = new() { ["Retention:FinishedTaskAge"] = "00:00:02" };
        await using var factory = postgres ? await AgentApiFactory.StartPostgresAsync(settings) : AgentApiFactory.StartEmbedded(settings);
        var jobs = factory.Services.GetRequiredService<IBackgroundJobClient>();
        var monitoring = factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var old = jobs.Enqueue(() => FailingJob.Fail());
        await WaitForFailedCountAsync(monitoring, 1);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var recent = jobs.Enqueue(() => FailingJob.Fail());
        await WaitForFailedCountAsync(monitoring, 2);

        await factory.Services.GetRequiredService<RetentionJob>().PurgeAsync(CancellationToken.None).WaitAsync(TestTimeouts.Request);

        using var connection = factory.Services.GetRequiredService<JobStorage>().GetConnection();
        Assert.Equal("Deleted", connection.GetStateData(old)?.Name);
        Assert.Equal("Failed", connection.GetStateData(recent)?.Name);
        Assert.Equal(1, monitoring.FailedCount());
    }

    private static async Task WaitForFailedCountAsync(IMonitoringApi monitoring, long count)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (monitoring.FailedCount() < count)
        {
            Assert.True(waited.Elapsed < TestTimeouts.Task, $"fewer than {count} failed jobs after {waited.Elapsed.TotalSeconds:F0} s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Start_RegistersThePurgeAsAHangfireRecurringJob()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();

        using var connection = factory.Services.GetRequiredService<JobStorage>().GetConnection();
        var job = connection.GetRecurringJobs().SingleOrDefault(recurring => recurring.Id == RetentionJob.RecurringJobId);

        Assert.NotNull(job);
        Assert.Equal("17 * * * *", job.Cron);
    }
}

/// <summary>A Hangfire job that always fails, without retries.</summary>
public static class FailingJob
{
    [AutomaticRetry(Attempts = 0)]
    public static void Fail() => throw new InvalidOperationException("This job fails on purpose.");
}

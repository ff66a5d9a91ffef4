using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Tasks;

/// <summary>
/// Finds unfinished tasks that have no Hangfire job to run them and enqueues one. In embedded mode
/// Hangfire keeps its jobs in memory, so at start-up every queued or running task is enqueued
/// again. On PostgreSQL the jobs survive restarts, and this only catches a task whose process
/// stopped between storing it and enqueuing its job.
/// </summary>
internal sealed class TaskRecoveryService(
    IDbContextFactory<AgentDbContext> dbFactory,
    TaskJobScheduler scheduler,
    StorageInfo storage,
    TimeProvider timeProvider,
    ILogger<TaskRecoveryService> logger) : BackgroundService
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    /// <summary>How old a task without a job must be before it counts as lost, so a submission in progress is left alone.</summary>
    private static readonly TimeSpan MissingJobGrace = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var everythingUnfinished = storage.Mode == StorageMode.Embedded;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var count = await RecoverAsync(everythingUnfinished, stoppingToken);
                everythingUnfinished = false;
                if (count > 0)
                {
                    TasksLog.Recovered(logger, count);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                TasksLog.RecoveryFailed(logger, (long)SweepInterval.TotalMilliseconds, exception);
            }

            await Task.Delay(SweepInterval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<int> RecoverAsync(bool everythingUnfinished, CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - MissingJobGrace;
        List<AgentTask> lost;
        await using (var db = dbFactory.CreateDbContext())
        {
            var unfinished = db.Tasks.AsNoTracking()
                .Where(task => task.Status == AgentTaskStatus.Queued || task.Status == AgentTaskStatus.Running);
            lost = everythingUnfinished
                ? await unfinished.OrderBy(task => task.Id).ToListAsync(cancellationToken)
                : await unfinished
                    .Where(task => task.Status == AgentTaskStatus.Queued && task.HangfireJobId == null && task.CreatedAt < cutoff)
                    .OrderBy(task => task.Id)
                    .ToListAsync(cancellationToken);
        }

        foreach (var task in lost)
        {
            // The new job id replaces the old one, so a stale job that still exists does nothing.
            await scheduler.EnqueueAsync(task, cancellationToken);
        }

        return lost.Count;
    }
}

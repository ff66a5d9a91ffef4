using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks;

/// <summary>
/// Gives a new Hangfire job to every unfinished task that nothing will otherwise run: a task whose
/// lease ran out because its instance died, and a task whose process stopped between storing it
/// and enqueuing its job. In embedded mode Hangfire keeps its jobs in memory, so the first sweep
/// after start-up takes every unfinished task.
/// </summary>
internal sealed class TaskRecoveryService(
    IDbContextFactory<AgentDbContext> dbFactory,
    TaskJobScheduler scheduler,
    TaskStore store,
    TaskEnqueuer enqueuer,
    InstanceIdentity instance,
    StorageInfo storage,
    IOptions<LeaseOptions> options,
    TimeProvider timeProvider,
    ILogger<TaskRecoveryService> logger) : DatabaseLoopService
{
    /// <summary>How old a task without a job must be before it counts as lost, so a submission in progress is left alone.</summary>
    private static readonly TimeSpan MissingJobGrace = TimeSpan.FromSeconds(10);

    protected override ILogger StopLogger => logger;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var everythingUnfinished = storage.Mode == StorageMode.Embedded;
        var interval = options.Value.RecoveryInterval;
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
                TasksLog.RecoveryFailed(logger, (long)interval.TotalMilliseconds, exception);
            }

            await Task.Delay(interval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<int> RecoverAsync(bool everythingUnfinished, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var cutoff = now - MissingJobGrace;
        List<AgentTask> lost;
        await using (var db = dbFactory.CreateDbContext())
        {
            var unfinished = db.Tasks
                .Where(task => task.Status == AgentTaskStatus.Queued || task.Status == AgentTaskStatus.Running);

            // Children run within their parent's attempt: recovering the parent recovers them.
            var unfinishedRoots = unfinished.Where(task => task.ParentId == null);
            if (everythingUnfinished)
            {
                // Leases of the previous process mean nothing to the only process there is. A
                // task that this process already stored and started keeps its lease.
                var previous = unfinished.Where(task => task.LeaseOwner == null || task.LeaseOwner != instance.Id);
                await previous.ExecuteUpdateAsync(setters => setters
                    .SetProperty(task => task.LeaseOwner, (string?)null)
                    .SetProperty(task => task.LeaseExpiresAt, (DateTimeOffset?)null), cancellationToken);
                lost = await previous.Where(task => task.ParentId == null).AsNoTracking().OrderBy(task => task.Id).ToListAsync(cancellationToken);
            }
            else
            {
                // A queued task that no instance has claimed for a lease's length had its job
                // taken by a worker that died before the claim. Hangfire would hand that job out
                // again only after its invisibility timeout.
                var unclaimedCutoff = now - options.Value.Duration;
                lost = await unfinishedRoots.AsNoTracking()
                    .Where(task => (task.LeaseExpiresAt != null && task.LeaseExpiresAt < now)
                        || (task.LeaseOwner == null && task.HangfireJobId == null && task.CreatedAt < cutoff)
                        || (task.LeaseOwner == null && task.Status == AgentTaskStatus.Queued && task.CreatedAt < unclaimedCutoff))
                    .OrderBy(task => task.Id)
                    .ToListAsync(cancellationToken);
            }
        }

        lost.RemoveAll(task => enqueuer.IsPending(task.Id));
        foreach (var task in lost)
        {
            // The new job id replaces the old one, so a stale job that still exists does nothing.
            await scheduler.EnqueueAsync(task, cancellationToken);
        }

        return lost.Count + await CancelOrphanedChildrenAsync(now, cancellationToken);
    }

    /// <summary>
    /// Ends children that nothing will run any more: unfinished, with no live lease, and with a
    /// parent that has finished. A parent that has not finished runs its children itself.
    /// </summary>
    private async Task<int> CancelOrphanedChildrenAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        List<Guid> orphans;
        await using (var db = dbFactory.CreateDbContext())
        {
            orphans = await db.Tasks.AsNoTracking()
                .Where(child => child.ParentId != null
                    && (child.Status == AgentTaskStatus.Queued || child.Status == AgentTaskStatus.Running)
                    && (child.LeaseExpiresAt == null || child.LeaseExpiresAt < now)
                    && db.Tasks.Any(parent => parent.Id == child.ParentId
                        && parent.Status != AgentTaskStatus.Queued && parent.Status != AgentTaskStatus.Running))
                .Select(child => child.Id)
                .ToListAsync(cancellationToken);
        }

        foreach (var id in orphans)
        {
            await store.UpdateAsync(id, (task, events) =>
            {
                if (!task.IsFinished)
                {
                    task.LeaseOwner = null;
                    task.LeaseExpiresAt = null;
                    TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, now, "cancelled",
                        "The task's parent finished while this child was left unfinished.");
                }

                return true;
            }, cancellationToken);
        }

        return orphans.Count;
    }
}

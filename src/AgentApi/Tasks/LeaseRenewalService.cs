using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks;

/// <summary>
/// Extends, in one statement, the lease of every unfinished task this instance holds, and stops
/// the attempts here whose tasks were cancelled through another instance.
/// </summary>
internal sealed class LeaseRenewalService(
    IDbContextFactory<AgentDbContext> dbFactory,
    InstanceIdentity instance,
    RunningTaskRegistry runningTasks,
    IOptions<LeaseOptions> options,
    TimeProvider timeProvider,
    ILogger<LeaseRenewalService> logger) : DatabaseLoopService
{
    protected override ILogger StopLogger => logger;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.RenewInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(interval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                // Only tasks whose work is alive here: a task this instance still owns but no longer
                // runs (its outcome could not be stored) must lose its lease, so recovery runs it again.
                var expiresAt = timeProvider.GetUtcNow() + options.Value.Duration;
                var alive = runningTasks.Ids;
                await using var db = dbFactory.CreateDbContext();
                await db.Tasks
                    .Where(task => task.LeaseOwner == instance.Id
                        && alive.Contains(task.Id)
                        && (task.Status == AgentTaskStatus.Queued || task.Status == AgentTaskStatus.Running))
                    .ExecuteUpdateAsync(setters => setters.SetProperty(task => task.LeaseExpiresAt, expiresAt), stoppingToken);

                // Cancel requests that another instance accepted reach the attempts here.
                var cancelled = await db.Tasks.AsNoTracking()
                    .Where(task => task.LeaseOwner == instance.Id
                        && task.Status == AgentTaskStatus.Running
                        && task.CancelRequestedAt != null)
                    .Select(task => task.Id)
                    .ToListAsync(stoppingToken);
                foreach (var taskId in cancelled)
                {
                    runningTasks.TryCancel(taskId);
                }
            }
            catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
            {
                TasksLog.LeaseRenewalFailed(logger, (long)options.Value.RenewInterval.TotalMilliseconds, exception);
            }
        }
    }
}

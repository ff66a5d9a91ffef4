using AgentApi.Storage;
using AgentApi.Tasks;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Retention;

/// <summary>
/// Deletes finished work older than <see cref="RetentionOptions.FinishedTaskAge"/>, so that the
/// database does not grow without bound. A whole tree goes at once: a top-level task that
/// finished before the cut-off, every task below it, and their events. Session transcripts stay.
/// Hangfire expires succeeded and deleted jobs by itself after a day, but keeps failed jobs until
/// someone deletes them, so the purge deletes failed jobs that failed before the cut-off.
/// </summary>
public sealed class RetentionJob(
    IDbContextFactory<AgentDbContext> dbFactory,
    JobStorage jobStorage,
    IBackgroundJobClient jobs,
    IOptions<RetentionOptions> options,
    TimeProvider timeProvider,
    ILogger<RetentionJob> logger)
{
    public const string RecurringJobId = "agentapi:retention";

    /// <summary>Top-level tasks deleted per transaction, so that one purge does not hold long locks.</summary>
    private const int BatchSize = 500;

    /// <summary>Deletes what is older than the retention age and returns how many top-level tasks went.</summary>
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var age = options.Value.FinishedTaskAge;
        if (age <= TimeSpan.Zero)
        {
            return 0;
        }

        var cutoff = timeProvider.GetUtcNow() - age;
        var purged = 0;
        while (true)
        {
            await using var db = dbFactory.CreateDbContext();
            var roots = await db.Tasks.AsNoTracking()
                .Where(task => task.ParentId == null && task.FinishedAt != null && task.FinishedAt < cutoff)
                .OrderBy(task => task.Id)
                .Select(task => task.Id)
                .Take(BatchSize)
                .ToListAsync(cancellationToken);
            if (roots.Count == 0)
            {
                break;
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var tree = await db.Tasks.AsNoTracking()
                .Where(task => roots.Contains(task.Id) || (task.RootId != null && roots.Contains(task.RootId.Value)))
                .Select(task => task.Id)
                .ToListAsync(cancellationToken);
            await db.TaskEvents.Where(taskEvent => tree.Contains(taskEvent.TaskId)).ExecuteDeleteAsync(cancellationToken);
            await db.Tasks.Where(task => tree.Contains(task.Id)).ExecuteDeleteAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            purged += roots.Count;
        }

        await using (var db = dbFactory.CreateDbContext())
        {
            await db.ScheduleRuns.Where(run => run.RecordedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        }

        var failedJobs = DeleteFailedJobs(cutoff);
        if (purged > 0 || failedJobs > 0)
        {
            RetentionLog.Purged(logger, purged, failedJobs, cutoff);
        }

        return purged;
    }

    /// <summary>Deletes Hangfire jobs that failed before <paramref name="cutoff"/> and returns how many.</summary>
    private int DeleteFailedJobs(DateTimeOffset cutoff)
    {
        var monitoring = jobStorage.GetMonitoringApi();
        List<string> old = [];
        for (var from = 0; ; from += BatchSize)
        {
            var page = monitoring.FailedJobs(from, BatchSize);
            old.AddRange(page.Where(job => job.Value.FailedAt < cutoff.UtcDateTime).Select(job => job.Key));
            if (page.Count < BatchSize)
            {
                break;
            }
        }

        // A deleted job moves to Hangfire's Deleted state, which expires like a succeeded one.
        return old.Count(jobs.Delete);
    }
}

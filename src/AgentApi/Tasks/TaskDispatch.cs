using AgentApi.Lanes;
using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks;

/// <summary>
/// Moves tasks from Hangfire into the lanes of this instance. A Hangfire job only claims its task
/// (a lease with a new fencing token) and schedules it in its lane, then ends, so no Hangfire
/// worker waits for a lane and a full lane cannot hold up another. The lease, renewed while the
/// task waits or runs here, is what lets another instance take the task when this one dies.
/// </summary>
public sealed class TaskDispatch(
    TaskStore store,
    TaskRunner runner,
    LaneDispatcher dispatcher,
    RunningTaskRegistry runningTasks,
    SessionGate sessionGate,
    InstanceIdentity instance,
    IDbContextFactory<AgentDbContext> dbFactory,
    TaskJobScheduler scheduler,
    StorageInfo storage,
    IOptions<LeaseOptions> leaseOptions,
    TimeProvider timeProvider,
    ILogger<TaskDispatch> logger) : IHostedService
{
    /// <summary>How long a task waits before it tries again when earlier work of its session is not here yet.</summary>
    private static readonly TimeSpan SessionRetryDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Claims the task for this instance and puts it in its lane. Throws
    /// <see cref="OperationCanceledException"/> while the instance is stopping, so that Hangfire
    /// keeps the job for another worker.
    /// </summary>
    public async Task AcceptAsync(Guid taskId, string? jobId, CancellationToken cancellationToken)
    {
        var claim = await ClaimAsync(taskId, jobId, cancellationToken);
        if (claim is null)
        {
            return;
        }

        var task = claim;
        if (task.SessionKey is not { } sessionKey)
        {
            Schedule(task);
            return;
        }

        // Session order: the task may enter its lane only behind every earlier unfinished task of
        // its session, so all of those must already be in a lane here. The gate keeps two
        // hand-offs of one session from interleaving.
        using (await sessionGate.EnterAsync(sessionKey, cancellationToken))
        {
            if (await HasEarlierTaskElsewhereAsync(task, cancellationToken))
            {
                await DeferAsync(task, cancellationToken);
                return;
            }

            Schedule(task);
        }
    }

    /// <summary>
    /// Puts a task that was stored with this instance's lease straight into its lane, without a
    /// Hangfire job. Returns false when the instance is stopping. The lease then runs out and
    /// recovery gives the task a job.
    /// </summary>
    public bool TryStartStored(AgentTask task)
    {
        try
        {
            Schedule(task);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Takes a lease on a task about to be stored, so that <see cref="TryStartStored"/> may start it.</summary>
    public void LeaseForInsert(AgentTask task)
    {
        task.LeaseOwner = instance.Id;
        task.LeaseToken = 1;
        task.LeaseExpiresAt = timeProvider.GetUtcNow() + leaseOptions.Value.Duration;
    }

    private void Schedule(AgentTask task)
    {
        var item = TaskWorkItem.Create(task, runner, timeProvider, budget: null);

        var registration = runningTasks.Register(task.Id, item.Cancellation);
        _ = item.Completion.Task.ContinueWith(
            static (_, state) =>
            {
                var (registration, item) = ((IDisposable, TaskWorkItem))state!;
                registration.Dispose();
                item.Dispose();
            },
            (registration, item),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        if (!dispatcher.Schedule(item))
        {
            item.Completion.TrySetResult();
            throw new InstanceStoppingException("The instance is stopping; the task stays queued for the next one.");
        }
    }

    /// <summary>Returns whether an earlier unfinished task of the same session is not in a lane of this instance.</summary>
    private async Task<bool> HasEarlierTaskElsewhereAsync(AgentTask task, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var earlier = await db.Tasks.AsNoTracking()
            .Where(other => other.SessionKey == task.SessionKey
                && other.Id.CompareTo(task.Id) < 0
                && (other.Status == AgentTaskStatus.Queued || other.Status == AgentTaskStatus.Running))
            .Select(other => other.Id)
            .ToListAsync(cancellationToken);
        return earlier.Any(id => !runningTasks.Contains(id));
    }

    /// <summary>Gives the claim back and tries the task again shortly, once earlier work of its session has moved on.</summary>
    private async Task DeferAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var leaseToken = task.LeaseToken;
        await store.UpdateAsync(task.Id, (stored, _) =>
        {
            if (stored.LeaseOwner == instance.Id && stored.LeaseToken == leaseToken)
            {
                stored.LeaseOwner = null;
                stored.LeaseExpiresAt = null;
            }

            return true;
        }, cancellationToken);

        await scheduler.ScheduleAsync(task, SessionRetryDelay, cancellationToken);
        TasksLog.SessionDeferred(logger, task.Id, task.SessionKey!, (long)SessionRetryDelay.TotalMilliseconds);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Drains the lanes, then hands every task still queued here back so another instance or the next start runs it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await dispatcher.StopAsync(cancellationToken);
        await runner.DrainFinishingAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        try
        {
            using var stopping = new BackgroundCancellation(cancellationToken);
            await HandBackQueuedAsync(stopping.Token);
        }
        catch (ObjectDisposedException)
        {
            // NOTE: seen only with test hosts, whose services can be torn down during stop. The
            // leases then run out instead, and recovery hands the tasks on after Leases:Duration.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ran out, typically because the database hangs. The
            // unstarted tasks keep this instance's lease until it runs out, then recovery runs them.
            TasksLog.HandBackFailed(logger, leaseOptions.Value.Duration.TotalSeconds, null);
        }
        catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
        {
            TasksLog.HandBackFailed(logger, leaseOptions.Value.Duration.TotalSeconds, exception);
        }
    }

    private async Task HandBackQueuedAsync(CancellationToken cancellationToken)
    {
        List<Guid> queued;
        await using (var db = dbFactory.CreateDbContext())
        {
            queued = await db.Tasks.AsNoTracking()
                .Where(task => task.LeaseOwner == instance.Id && task.Status == AgentTaskStatus.Queued && task.ParentId == null)
                .Select(task => task.Id)
                .ToListAsync(cancellationToken);
        }

        await ReleaseLeasesAsync(queued, cancellationToken);
        TasksLog.HandedBack(logger, queued.Count);
    }

    private async Task<AgentTask?> ClaimAsync(Guid taskId, string? jobId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var leaseDuration = leaseOptions.Value.Duration;
        var change = await store.UpdateAsync(taskId, (task, events) =>
        {
            if (task.IsFinished)
            {
                return ClaimOutcome.Finished;
            }

            // A child runs as part of its parent's attempt, which claims it; a job never does.
            if (task.ParentId is not null)
            {
                return ClaimOutcome.Finished;
            }

            // The lease, not the job id, decides: a duplicate or stale job finds the task held
            // (or finished) and does nothing, and one job is enough to move a free task on.
            if (task.LeaseOwner is not null && task.LeaseExpiresAt > now)
            {
                return ClaimOutcome.HeldElsewhere;
            }

            if (task.Status == AgentTaskStatus.Running)
            {
                // The instance that ran the previous attempt died or lost its lease: that attempt
                // can never finish, and the task waits in its lane again.
                events.Add(TaskEventTypes.AttemptFailed, new
                {
                    attempt = task.Attempts,
                    error = new { type = "interrupted", message = "The attempt's process stopped before the attempt finished." },
                });
                task.Status = AgentTaskStatus.Queued;
                TasksLog.InterruptedAttempt(logger, task.Id, task.Attempts);
            }

            if (task.CancelRequestedAt is not null)
            {
                TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, now, "cancelled", "The task was cancelled.");
                return ClaimOutcome.Cancelled;
            }

            if (task.CreatedAt + TimeSpan.FromSeconds(task.TimeoutSeconds) <= now)
            {
                TaskTransitions.Finish(task, events, AgentTaskStatus.TimedOut, now, "timed_out",
                    $"The task did not finish within its timeoutSeconds of {task.TimeoutSeconds}.");
                return ClaimOutcome.TimedOut;
            }

            task.LeaseOwner = instance.Id;
            task.LeaseToken++;
            task.LeaseExpiresAt = now + leaseDuration;
            task.HangfireJobId = jobId ?? task.HangfireJobId;
            return ClaimOutcome.Claimed;
        }, cancellationToken);

        switch (change?.Result)
        {
            case ClaimOutcome.Claimed:
                return change.Task;
            case ClaimOutcome.HeldElsewhere:
                TasksLog.HeldElsewhere(logger, taskId, change.Task.LeaseOwner!);
                return null;
            case ClaimOutcome.Cancelled:
                TasksLog.Cancelled(logger, taskId);
                return null;
            case ClaimOutcome.TimedOut:
                TasksLog.TimedOut(logger, taskId, change.Task.TimeoutSeconds);
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Gives up this instance's lease on tasks that have not started. On PostgreSQL each gets a
    /// new Hangfire job at once, so another instance takes it; in embedded mode the next start does.
    /// </summary>
    private async Task ReleaseLeasesAsync(IReadOnlyCollection<Guid> taskIds, CancellationToken cancellationToken)
    {
        if (taskIds.Count == 0)
        {
            return;
        }

        await using (var db = dbFactory.CreateDbContext())
        {
            await db.Tasks
                .Where(task => taskIds.Contains(task.Id) && task.LeaseOwner == instance.Id && task.Status == AgentTaskStatus.Queued)
                .ExecuteUpdateAsync(setters => setters
                    .SetProperty(task => task.LeaseOwner, (string?)null)
                    .SetProperty(task => task.LeaseExpiresAt, (DateTimeOffset?)null)
                    .SetProperty(task => task.HangfireJobId, (string?)null), cancellationToken);
        }

        if (storage.Mode != StorageMode.Postgres)
        {
            return;
        }

        foreach (var taskId in taskIds)
        {
            if (await store.FindAsync(taskId, cancellationToken) is { IsFinished: false, LeaseOwner: null } task)
            {
                await scheduler.EnqueueAsync(task, cancellationToken);
            }
        }
    }

    private enum ClaimOutcome
    {
        Claimed,
        Finished,
        HeldElsewhere,
        Cancelled,
        TimedOut,
    }
}

using System.Collections.Concurrent;
using AgentApi.Agents;
using AgentApi.Agents.Models;
using AgentApi.Lanes;
using AgentApi.Tasks.Supervision;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace AgentApi.Tasks;

/// <summary>
/// Runs one attempt of a task once its lane gives it a slot: marks it running, calls its agent
/// with retries for transient model failures, and stores exactly one outcome. Every write checks
/// the lease token of the claim, so an attempt that lost its task to another instance changes
/// nothing.
/// </summary>
public sealed partial class TaskRunner(
    TaskStore store,
    AgentRunner agents,
    Lazy<Supervisor> supervisor,
    InstanceIdentity instance,
    IOptions<TaskOptions> options,
    IOptions<LeaseOptions> leaseOptions,
    IOptions<Events.EventOptions> eventOptions,
    TimeProvider timeProvider,
    ILogger<TaskRunner> logger)
{
    private readonly ResiliencePipeline _storageRetry = StorageRetry.Create(timeProvider);
    private readonly ConcurrentDictionary<Task, bool> _finishing = new();

    /// <summary>Waits for the outcomes still being stored after their attempts gave back their lane slots.</summary>
    internal Task DrainFinishingAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_finishing.Keys).WaitAsync(cancellationToken);

    internal async ValueTask<bool> RunAttemptAsync(TaskWorkItem item, CancellationToken shutdownToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(item.CancellationToken, shutdownToken);
        var startedAt = timeProvider.GetTimestamp();
        var observer = new AttemptObserver(item, change => UpdateFencedAsync(item, change), eventOptions.Value.OutputInterval, timeProvider);
        item.Observer = observer;
        TokenBudget? ownBudget = null;

        try
        {
            // A program is not started before its start is stored, unlike a model call.
            if (item.StartsWithoutWaiting && ClaimIsFresh(item) && !agents.IsProcessAgent(item.Task.Agent))
            {
                return await RunChildAttemptAsync(item, observer, linked.Token, startedAt);
            }

            var task = await StartAttemptAsync(item);
            if (task is null)
            {
                item.StartRejected = true;
                return false;
            }

            var budget = item.Budget;
            if (budget is null && task.TokenBudget is { } limit)
            {
                ownBudget = budget = new TokenBudget(limit, await store.GetTreeTokensAsync(task.Id, CancellationToken.None));
            }

            var context = new AgentRunContext(observer, budget);
            var result = await RunWithRetriesAsync(item, task, context, linked.Token);
            if (item.MayFinishOutsideLane)
            {
                // The lane slot goes to the next item while this outcome is stored, and the lane
                // counts the task once it is.
                item.Finishing = Track(FinishSucceededAsync(item, result, startedAt));
                return true;
            }

            return await FinishWithReplyAsync(item, result, startedAt);
        }
        catch (OperationCanceledException) when (item.Cancellation.IsCancellationRequested)
        {
            await FinishAsync(item, AgentTaskStatus.Cancelled, "cancelled", "The task was cancelled while it was running.");
            TasksLog.Cancelled(logger, item.Task.Id);
        }
        catch (OperationCanceledException) when (item.Deadline.IsCancellationRequested)
        {
            await FinishTimedOutAsync(item);
        }
        catch (OperationCanceledException exception) when (shutdownToken.IsCancellationRequested || exception is InstanceStoppingException)
        {
            if (await ReturnToQueueAsync(item) is { } attempt)
            {
                TasksLog.InterruptedByShutdown(logger, item.Task.Id, attempt);
            }
        }
        catch (LeaseLostException)
        {
            TasksLog.LeaseLost(logger, item.Task.Id, item.Task.LeaseToken);
        }
        catch (AgentRunException exception)
        {
            await FinishAsync(item, exception.IsTimeout ? AgentTaskStatus.TimedOut : AgentTaskStatus.Failed, exception.ErrorType, exception.Message);
            TasksLog.Failed(logger, item.Task.Id, exception.ErrorType, exception.Message);
        }
        catch (Exception exception) when (ModelFailure.From(exception, linked.Token) is { } failure)
        {
            await FinishAsync(item, AgentTaskStatus.Failed, failure.ErrorType, failure.Message);
            TasksLog.Failed(logger, item.Task.Id, failure.ErrorType, failure.Message);
        }
        catch (Exception exception) when (!StorageRetry.IsStorageFailure(exception))
        {
            TasksLog.UnexpectedError(logger, item.Task.Id, exception);
            await FinishAsync(item, AgentTaskStatus.Failed, "internal_error",
                $"An internal error stopped the task; the service log has the details under task id {item.Task.Id}.");
        }
        catch (Exception exception)
        {
            // The database stayed unreachable through every storage retry. The lease runs out,
            // and the recovery sweep of this or another instance runs the task again.
            TasksLog.OutcomeNotStored(logger, item.Task.Id, exception);
        }
        finally
        {
            ownBudget?.Dispose();
        }

        return false;
    }

    /// <summary>
    /// Runs a child's attempt while the write that marks it running is still being saved, so that
    /// write costs the fan-out no time. When the write finds the child must not run (finished, or
    /// cancelled through the database), the run is cancelled and its result thrown away.
    /// </summary>
    private async Task<bool> RunChildAttemptAsync(TaskWorkItem item, AttemptObserver observer, CancellationToken cancellationToken, long startedAt)
    {
        var starting = StartAttemptAsync(item);
        observer.WriteAfter(starting);
        using var notStarted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var expected = item.Task.AsRunning(timeProvider.GetUtcNow());
        var running = RunWithRetriesAsync(item, expected, new AgentRunContext(observer, item.Budget), notStarted.Token);

        AgentTask? started;
        try
        {
            started = await starting;
        }
        catch
        {
            await notStarted.CancelAsync();
            await running.ContinueWith(static _ => { }, TaskScheduler.Default);
            throw;
        }

        if (started is null)
        {
            await notStarted.CancelAsync();
            await running.ContinueWith(static _ => { }, TaskScheduler.Default);
            item.StartRejected = true;
            return false;
        }

        var result = await running;
        item.Finishing = Track(FinishSucceededAsync(item, result, startedAt));
        return true;
    }

    /// <summary>
    /// Returns whether the claim's lease is far enough from its end that no other instance can
    /// have taken the task, so its model may be called before the start write checks the lease.
    /// After a long pause of this process (a stopped VM, a debugger), the start write decides first.
    /// </summary>
    private bool ClaimIsFresh(TaskWorkItem item) =>
        item.Task.LeaseExpiresAt is { } expiresAt
        && timeProvider.GetUtcNow() + leaseOptions.Value.RenewInterval < expiresAt;

    /// <summary>
    /// Stores the model's reply outside the lane, handling a failure to store it as the attempt
    /// would have. Returns whether the task was stored as succeeded, which its lane counts as
    /// completed. A cancel request stored between the reply and this write makes the task cancelled.
    /// </summary>
    private async Task<bool> FinishSucceededAsync(TaskWorkItem item, AgentRunResult result, long startedAt)
    {
        try
        {
            return await FinishWithReplyAsync(item, result, startedAt);
        }
        catch (LeaseLostException)
        {
            TasksLog.LeaseLost(logger, item.Task.Id, item.Task.LeaseToken);
        }
        catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
        {
            TasksLog.OutcomeNotStored(logger, item.Task.Id, exception);
        }
        catch (Exception exception)
        {
            TasksLog.UnexpectedError(logger, item.Task.Id, exception);
            await FinishFailedQuietlyAsync(item);
        }

        return false;
    }

    /// <summary>
    /// Stores the model's reply as the task's outcome, logs the outcome, and returns whether the
    /// task succeeded. A cancel request stored while the reply was on its way wins, so the task
    /// can end cancelled with the reply in hand, and then this returns false.
    /// </summary>
    private async Task<bool> FinishWithReplyAsync(TaskWorkItem item, AgentRunResult result, long startedAt)
    {
        var stored = await FinishAsync(item, AgentTaskStatus.Succeeded, result: result);
        if (stored == AgentTaskStatus.Cancelled)
        {
            TasksLog.Cancelled(logger, item.Task.Id);
        }
        else if (stored == AgentTaskStatus.Succeeded)
        {
            // A process agent calls no model.
            TasksLog.Succeeded(logger, item.Task.Id, (long)timeProvider.GetElapsedTime(startedAt).TotalMilliseconds, result.Model ?? "none");
        }

        return stored == AgentTaskStatus.Succeeded;
    }

    /// <summary>Stores an internal error as the outcome, when even storing the success failed for its data.</summary>
    private async Task FinishFailedQuietlyAsync(TaskWorkItem item)
    {
        try
        {
            await FinishAsync(item, AgentTaskStatus.Failed, "internal_error",
                $"An internal error stopped the task; the service log has the details under task id {item.Task.Id}.");
        }
        catch (Exception exception) when (exception is LeaseLostException || StorageRetry.IsStorageFailure(exception))
        {
            TasksLog.OutcomeNotStored(logger, item.Task.Id, exception);
        }
    }

    private Task<bool> Track(Task<bool> finishing)
    {
        _finishing.TryAdd(finishing, true);
        _ = finishing.ContinueWith(
            static (done, state) => ((ConcurrentDictionary<Task, bool>)state!).TryRemove(done, out _),
            _finishing,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return finishing;
    }

    /// <summary>Records why a task left its lane without running: its deadline or a cancel request.</summary>
    internal Task OnRemovedFromLane(TaskWorkItem item, LaneRemovalReason reason) =>
        reason == LaneRemovalReason.Cancelled ? FinishRemovedAsync(item) : Task.CompletedTask;

    private async Task FinishRemovedAsync(TaskWorkItem item)
    {
        try
        {
            if (item.Deadline.IsCancellationRequested)
            {
                await FinishTimedOutAsync(item);
            }
            else
            {
                await FinishAsync(item, AgentTaskStatus.Cancelled, "cancelled", "The task was cancelled before it started.");
                TasksLog.Cancelled(logger, item.Task.Id);
            }
        }
        catch (Exception exception) when (exception is LeaseLostException || StorageRetry.IsStorageFailure(exception))
        {
            TasksLog.OutcomeNotStored(logger, item.Task.Id, exception);
        }
    }

    private async Task FinishTimedOutAsync(TaskWorkItem item)
    {
        await FinishAsync(item, AgentTaskStatus.TimedOut, "timed_out",
            $"The task did not finish within its timeoutSeconds of {item.Task.TimeoutSeconds}.");
        TasksLog.TimedOut(logger, item.Task.Id, item.Task.TimeoutSeconds);
    }

    /// <summary>Marks the task running for its next attempt; returns null when it must not run after all.</summary>
    private async Task<AgentTask?> StartAttemptAsync(TaskWorkItem item)
    {
        // Read before the wait for a new child's insert, so that startedAt is when the run started.
        var now = timeProvider.GetUtcNow();
        if (!await IsStoredAsync(item))
        {
            return null;
        }

        var change = await UpdateFencedAsync(item, (task, events) =>
        {
            if (task.IsFinished)
            {
                return false;
            }

            if (task.CancelRequestedAt is not null)
            {
                TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, now, "cancelled", "The task was cancelled before it started.");
                return false;
            }

            task.Status = AgentTaskStatus.Running;
            task.Attempts++;
            task.StartedAt ??= now;
            events.Add(TaskEventTypes.Started, new { attempt = task.Attempts, queue = task.Queue, lane = task.Lane, instance = instance.Id });
            return true;
        });

        if (!change.Result)
        {
            return null;
        }

        TasksLog.Started(logger, change.Task.Id, change.Task.Attempts, change.Task.MaxAttempts, change.Task.Agent);
        return change.Task;
    }

    private async Task<AgentRunResult> RunWithRetriesAsync(TaskWorkItem item, AgentTask task, AgentRunContext context, CancellationToken cancellationToken)
    {
        var retries = task.MaxAttempts - task.Attempts;
        if (retries <= 0)
        {
            return await RunOnceAsync(item, task, context, cancellationToken);
        }

        var limits = options.Value;
        var attempt = task.Attempts;

        // Opened here, around every attempt, so the delay generator below can read what the
        // attempts' HTTP calls captured.
        var capturedRetryAfter = RetryAfterCapture.Begin();
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = limits.RetryBaseDelay,
                MaxDelay = limits.RetryMaxDelay,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(exception =>
                    ModelFailure.From(exception, cancellationToken) is { IsTransient: true }),

                // A provider's Retry-After replaces the computed backoff, capped by MaxRetryAfter only.
                DelayGenerator = arguments =>
                {
                    var retryAfter = (arguments.Outcome.Exception is { } exception
                        ? ModelFailure.From(exception, cancellationToken)?.RetryAfter
                        : null) ?? capturedRetryAfter.Take();
                    TimeSpan? delay = retryAfter is { } value ? Min(value, limits.MaxRetryAfter) : null;
                    return ValueTask.FromResult(delay);
                },
                OnRetry = arguments => new ValueTask(RecordFailedAttemptAsync(
                    item,
                    attempt,
                    ModelFailure.From(arguments.Outcome.Exception!, cancellationToken)!,
                    arguments.RetryDelay)),
            })
            .Build();

        var isFirstAttempt = true;
        return await pipeline.ExecuteAsync(async token =>
        {
            if (!isFirstAttempt)
            {
                attempt++;
                await StartNextAttemptAsync(item, attempt);
            }

            isFirstAttempt = false;
            capturedRetryAfter.Take();
            return await RunOnceAsync(item, task, context, token);
        }, cancellationToken);
    }

    /// <summary>A task with subtasks, or one that decomposes, is run by the supervisor; any other by its agent.</summary>
    private Task<AgentRunResult> RunOnceAsync(TaskWorkItem item, AgentTask task, AgentRunContext context, CancellationToken cancellationToken) =>
        Supervisor.IsSupervised(task)
            ? supervisor.Value.RunAsync(item, task, context, cancellationToken)
            : agents.RunAsync(task, context with { Subtasks = supervisor.Value.CreateSpawner(item, task, context) }, cancellationToken);

    private async Task RecordFailedAttemptAsync(TaskWorkItem item, int attempt, ModelFailure failure, TimeSpan retryDelay)
    {
        TasksLog.Retrying(logger, item.Task.Id, attempt, failure.ErrorType, failure.StatusCode, (long)retryDelay.TotalMilliseconds);
        await UpdateFencedAsync(item, (_, events) =>
        {
            events.Add(TaskEventTypes.AttemptFailed, new
            {
                attempt,
                error = new { type = failure.ErrorType, message = failure.Message, statusCode = failure.StatusCode },
                retryInMs = (long)retryDelay.TotalMilliseconds,
            });
            return true;
        });
    }

    private Task StartNextAttemptAsync(TaskWorkItem item, int attempt) =>
        UpdateFencedAsync(item, (task, events) =>
        {
            task.Attempts = attempt;
            events.Add(TaskEventTypes.Started, new { attempt, queue = task.Queue, lane = task.Lane });
            return true;
        });

    /// <summary>
    /// Stores the task's final status, unless the task has already finished. Returns the status
    /// this call stored, which is <c>cancelled</c> in place of <c>succeeded</c> when a cancel
    /// request was stored first, or null when it stored none.
    /// </summary>
    private async Task<AgentTaskStatus?> FinishAsync(
        TaskWorkItem item,
        AgentTaskStatus status,
        string? errorType = null,
        string? errorMessage = null,
        AgentRunResult? result = null)
    {
        var now = timeProvider.GetUtcNow();
        if (!await IsStoredAsync(item))
        {
            // The insert of this new child failed, so there is no row to finish. Its parent fails instead.
            return null;
        }

        var observer = item.Observer;
        if (observer is not null)
        {
            await observer.DrainAsync();
        }

        (int, long, long) applied = default;
        var change = await UpdateFencedAsync(item, (task, events) =>
        {
            if (task.IsFinished)
            {
                return false;
            }

            if (observer is not null)
            {
                applied = observer.Apply(task, events);
            }

            // A cancel request accepted while the model call ran wins over the model's reply.
            if (status == AgentTaskStatus.Succeeded && task.CancelRequestedAt is not null)
            {
                task.LeaseOwner = null;
                task.LeaseExpiresAt = null;
                TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, now, "cancelled", "The task was cancelled while it was running.");
                return true;
            }

            if (result is not null)
            {
                task.ResultText = result.Text;
                task.ResultModel = result.Model;
                task.ResultPartial = result.Partial;
                task.ProgressPercent = 100;
                if (task.Origin != Heartbeat.HeartbeatService.Origin)
                {
                    events.AddTranscript(result.Transcript);
                }
                else if (Heartbeat.HeartbeatReply.IsOk(result.Text))
                {
                    // Stored, but not announced, and kept out of the session so that routine
                    // beats do not crowd the conversation.
                    task.Suppressed = true;
                }
                else
                {
                    events.AddTranscript(result.Transcript);
                    events.Add(TaskEventTypes.Output, new { text = result.Text });
                }
            }

            task.LeaseOwner = null;
            task.LeaseExpiresAt = null;
            TaskTransitions.Finish(task, events, status, now, errorType, errorMessage);
            return true;
        });

        observer?.Stored(applied);
        item.Outcome = change.Task;
        return change.Result ? change.Task.Status : null;
    }

    /// <summary>
    /// Puts a running task back in the queue after a shutdown interrupted its attempt. Returns the
    /// number of the interrupted attempt, or null when the task had finished meanwhile. The number
    /// comes from the stored task, because <see cref="TaskWorkItem.Task"/> is the copy read before
    /// the attempt's start was stored.
    /// </summary>
    private async Task<int?> ReturnToQueueAsync(TaskWorkItem item)
    {
        var change = await UpdateFencedAsync(item, (task, events) =>
        {
            if (task.IsFinished)
            {
                return false;
            }

            task.Status = AgentTaskStatus.Queued;
            events.Add(TaskEventTypes.AttemptFailed, new
            {
                attempt = task.Attempts,
                error = new { type = "interrupted", message = "The service shut down during the attempt; the task will run again." },
            });
            return true;
        });
        return change.Result ? change.Task.Attempts : null;
    }

    /// <summary>
    /// Applies a change only while this instance still holds the lease of the claim, retrying
    /// through short database outages. Not cancellable: a reached outcome is always stored.
    /// </summary>
    private async Task<TaskChange<bool>> UpdateFencedAsync(TaskWorkItem item, Func<AgentTask, TaskEventBuffer, bool> change)
    {
        if (!await IsStoredAsync(item))
        {
            throw new LeaseLostException(item.Task.Id);
        }

        var leaseToken = item.Task.LeaseToken;
        var result = await _storageRetry.ExecuteAsync(
            async token => await store.UpdateAsync(item.Task.Id, (task, events) =>
            {
                if (task.LeaseOwner != instance.Id || task.LeaseToken != leaseToken)
                {
                    // Unfinished tasks belong to the new owner; a finished one is reported as unchanged.
                    return task.IsFinished ? (bool?)false : null;
                }

                return change(task, events);
            }, token),
            CancellationToken.None);

        if (result?.Result is not { } applied)
        {
            throw new LeaseLostException(item.Task.Id);
        }

        return new TaskChange<bool>(result.Task, applied, result.Events);
    }

    /// <summary>
    /// Waits for the insert of a task that started before its row was committed. Returns false
    /// when that insert failed, because then the task has no row to write to.
    /// </summary>
    private static ValueTask<bool> IsStoredAsync(TaskWorkItem item)
    {
        return item.Stored is not { IsCompletedSuccessfully: false } ? ValueTask.FromResult(true) : WaitAsync(item.Stored);

        static async ValueTask<bool> WaitAsync(Task stored)
        {
            await stored.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return stored.IsCompletedSuccessfully;
        }
    }

    private static TimeSpan Min(TimeSpan left, TimeSpan right) => left < right ? left : right;
}

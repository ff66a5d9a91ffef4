using System.Data.Common;
using AgentApi.Agents;
using AgentApi.Agents.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace AgentApi.Tasks;

/// <summary>
/// Runs a task from claim to outcome: marks it running, calls its agent with retries for
/// transient model failures, and stores exactly one final status.
/// </summary>
public sealed class TaskRunner(
    TaskStore store,
    AgentRunner agents,
    RunningTaskRegistry runningTasks,
    IOptions<TaskOptions> options,
    TimeProvider timeProvider,
    ILogger<TaskRunner> logger)
{
    /// <param name="taskId">The task to run.</param>
    /// <param name="jobId">The Hangfire job running it; a job that no longer owns the task does nothing.</param>
    /// <param name="shutdownToken">Cancelled when the process stops; the task then stays queued for the next start.</param>
    public async Task RunAsync(Guid taskId, string? jobId, CancellationToken shutdownToken)
    {
        // Registered before the claim, so a cancel request that lands after the claim reads the
        // task always finds the token.
        using var cancellation = new CancellationTokenSource();
        using var registration = runningTasks.Register(taskId, cancellation);

        var task = await ClaimAsync(taskId, jobId, shutdownToken);
        if (task is null)
        {
            return;
        }

        var remaining = task.CreatedAt + TimeSpan.FromSeconds(task.TimeoutSeconds) - timeProvider.GetUtcNow();
        using var deadline = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(shutdownToken, cancellation.Token, deadline.Token);
        var startedAt = timeProvider.GetTimestamp();

        try
        {
            var result = await RunWithRetriesAsync(task, linked.Token);
            await FinishAsync(task.Id, AgentTaskStatus.Succeeded, result: result);
            TasksLog.Succeeded(logger, task.Id, (long)timeProvider.GetElapsedTime(startedAt).TotalMilliseconds, result.Model);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await FinishAsync(task.Id, AgentTaskStatus.Cancelled, "cancelled", "The task was cancelled while it was running.");
            TasksLog.Cancelled(logger, task.Id);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            await FinishAsync(task.Id, AgentTaskStatus.TimedOut, "timed_out",
                $"The task did not finish within its timeoutSeconds of {task.TimeoutSeconds}.");
            TasksLog.TimedOut(logger, task.Id, task.TimeoutSeconds);
        }
        catch (OperationCanceledException) when (shutdownToken.IsCancellationRequested)
        {
            await ReturnToQueueAsync(task.Id, task.Attempts);
            TasksLog.InterruptedByShutdown(logger, task.Id, task.Attempts);

            // Rethrown so that Hangfire requeues the job instead of marking it done.
            throw;
        }
        catch (Exception exception) when (ModelFailure.From(exception, linked.Token) is { } failure)
        {
            await FinishAsync(task.Id, AgentTaskStatus.Failed, failure.ErrorType, failure.Message);
            TasksLog.Failed(logger, task.Id, failure.ErrorType, failure.Message);
        }
        catch (Exception exception) when (!IsStorageFailure(exception))
        {
            TasksLog.UnexpectedError(logger, task.Id, exception);
            await FinishAsync(task.Id, AgentTaskStatus.Failed, "internal_error",
                $"An internal error stopped the task; the service log has the details under task id {task.Id}.");
        }
    }

    /// <summary>
    /// Marks the task running for a new attempt, or returns null when there is nothing to run:
    /// it has finished, another job owns it, it was cancelled, or its deadline passed while it waited.
    /// </summary>
    private async Task<AgentTask?> ClaimAsync(Guid taskId, string? jobId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var change = await store.UpdateAsync(taskId, (task, events) =>
        {
            if (task.IsFinished)
            {
                return ClaimOutcome.Finished;
            }

            if (jobId is not null && task.HangfireJobId is { } owner && owner != jobId)
            {
                return ClaimOutcome.Superseded;
            }

            if (task.Status == AgentTaskStatus.Running)
            {
                // The process that ran the previous attempt died: that attempt can never finish.
                events.Add(TaskEventTypes.AttemptFailed, new
                {
                    attempt = task.Attempts,
                    error = new { type = "interrupted", message = "The attempt's process stopped before the attempt finished." },
                });
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

            task.Status = AgentTaskStatus.Running;
            task.Attempts++;
            task.StartedAt ??= now;
            task.HangfireJobId = jobId ?? task.HangfireJobId;
            events.Add(TaskEventTypes.Started, new { attempt = task.Attempts, queue = task.Queue, lane = task.Lane });
            return ClaimOutcome.Started;
        }, cancellationToken);

        switch (change?.Result)
        {
            case ClaimOutcome.Started:
                TasksLog.Started(logger, taskId, change.Task.Attempts, change.Task.MaxAttempts, change.Task.Agent);
                return change.Task;
            case ClaimOutcome.Superseded:
                TasksLog.Superseded(logger, taskId, jobId!, change.Task.HangfireJobId!);
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

    private async Task<AgentRunResult> RunWithRetriesAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var retries = task.MaxAttempts - task.Attempts;
        if (retries <= 0)
        {
            return await agents.RunAsync(task, cancellationToken);
        }

        var limits = options.Value;
        var attempt = task.Attempts;
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
                DelayGenerator = arguments =>
                {
                    var retryAfter = arguments.Outcome.Exception is { } exception
                        ? ModelFailure.From(exception, cancellationToken)?.RetryAfter
                        : null;
                    TimeSpan? delay = retryAfter is { } value ? Min(value, limits.MaxRetryAfter) : null;
                    return ValueTask.FromResult(delay);
                },
                OnRetry = arguments => new ValueTask(RecordFailedAttemptAsync(
                    task.Id,
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
                await StartNextAttemptAsync(task.Id, attempt, token);
            }

            isFirstAttempt = false;
            return await agents.RunAsync(task, token);
        }, cancellationToken);
    }

    private async Task RecordFailedAttemptAsync(Guid taskId, int attempt, ModelFailure failure, TimeSpan retryDelay)
    {
        TasksLog.Retrying(logger, taskId, attempt, failure.ErrorType, failure.StatusCode, (long)retryDelay.TotalMilliseconds);
        await store.UpdateAsync(taskId, (task, events) =>
        {
            events.Add(TaskEventTypes.AttemptFailed, new
            {
                attempt,
                error = new { type = failure.ErrorType, message = failure.Message, statusCode = failure.StatusCode },
                retryInMs = (long)retryDelay.TotalMilliseconds,
            });
            return true;
        }, CancellationToken.None);
    }

    private async Task StartNextAttemptAsync(Guid taskId, int attempt, CancellationToken cancellationToken)
    {
        await store.UpdateAsync(taskId, (task, events) =>
        {
            task.Attempts = attempt;
            events.Add(TaskEventTypes.Started, new { attempt, queue = task.Queue, lane = task.Lane });
            return true;
        }, cancellationToken);
    }

    private Task FinishAsync(
        Guid taskId,
        AgentTaskStatus status,
        string? errorType = null,
        string? errorMessage = null,
        AgentRunResult? result = null)
    {
        var now = timeProvider.GetUtcNow();

        // Not cancellable: an outcome that was reached is always stored, also during shutdown.
        return store.UpdateAsync(taskId, (task, events) =>
        {
            if (task.IsFinished)
            {
                return false;
            }

            if (result is not null)
            {
                task.ResultText = result.Text;
                task.ResultModel = result.Model;
                task.InputTokens = result.InputTokens;
                task.OutputTokens = result.OutputTokens;
                task.ProgressPercent = 100;
            }

            TaskTransitions.Finish(task, events, status, now, errorType, errorMessage);
            return true;
        }, CancellationToken.None);
    }

    private Task ReturnToQueueAsync(Guid taskId, int attempt) =>
        store.UpdateAsync(taskId, (task, events) =>
        {
            if (task.IsFinished)
            {
                return false;
            }

            task.Status = AgentTaskStatus.Queued;
            events.Add(TaskEventTypes.AttemptFailed, new
            {
                attempt,
                error = new { type = "interrupted", message = "The service shut down during the attempt; the task will run again." },
            });
            return true;
        }, CancellationToken.None);

    private static TimeSpan Min(TimeSpan left, TimeSpan right) => left < right ? left : right;

    /// <summary>Storage failures go back to Hangfire, which retries the job once the database is back.</summary>
    private static bool IsStorageFailure(Exception exception) =>
        exception is DbException or DbUpdateException or RetryLimitExceededException
        || exception.InnerException is DbException;

    private enum ClaimOutcome
    {
        Started,
        Finished,
        Superseded,
        Cancelled,
        TimedOut,
    }
}

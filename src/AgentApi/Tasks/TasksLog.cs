namespace AgentApi.Tasks;

internal static partial class TasksLog
{
    [LoggerMessage(3001, LogLevel.Information, "Task {TaskId} queued on '{Queue}' in lane '{Lane}' for agent '{Agent}'.")]
    public static partial void Queued(ILogger logger, Guid taskId, string queue, string lane, string agent);

    [LoggerMessage(3002, LogLevel.Information, "Task {TaskId} started attempt {Attempt} of {MaxAttempts} with agent '{Agent}'.")]
    public static partial void Started(ILogger logger, Guid taskId, int attempt, int maxAttempts, string agent);

    [LoggerMessage(3003, LogLevel.Information, "Task {TaskId} succeeded after {DurationMs} ms with model '{Model}'.")]
    public static partial void Succeeded(ILogger logger, Guid taskId, long durationMs, string model);

    [LoggerMessage(3004, LogLevel.Warning,
        "Task {TaskId} attempt {Attempt} failed with '{ErrorType}' (HTTP {StatusCode}); retrying in {RetryDelayMs} ms.")]
    public static partial void Retrying(ILogger logger, Guid taskId, int attempt, string errorType, int? statusCode, long retryDelayMs);

    [LoggerMessage(3005, LogLevel.Warning, "Task {TaskId} failed with '{ErrorType}': {ErrorMessage}")]
    public static partial void Failed(ILogger logger, Guid taskId, string errorType, string errorMessage);

    [LoggerMessage(3006, LogLevel.Information, "Task {TaskId} was cancelled.")]
    public static partial void Cancelled(ILogger logger, Guid taskId);

    [LoggerMessage(3007, LogLevel.Warning, "Task {TaskId} timed out after its deadline of {TimeoutSeconds} s.")]
    public static partial void TimedOut(ILogger logger, Guid taskId, int timeoutSeconds);

    [LoggerMessage(3008, LogLevel.Warning,
        "Task {TaskId} was running when its previous attempt {Attempt} stopped without finishing; that attempt is recorded as failed.")]
    public static partial void InterruptedAttempt(ILogger logger, Guid taskId, int attempt);

    [LoggerMessage(3009, LogLevel.Information, "Task {TaskId} attempt {Attempt} was interrupted by shutdown; the task stays queued.")]
    public static partial void InterruptedByShutdown(ILogger logger, Guid taskId, int attempt);

    [LoggerMessage(3010, LogLevel.Error, "Task {TaskId} failed with an unexpected error.")]
    public static partial void UnexpectedError(ILogger logger, Guid taskId, Exception exception);


    [LoggerMessage(3012, LogLevel.Information, "Re-enqueued {Count} unfinished tasks that had no live Hangfire job.")]
    public static partial void Recovered(ILogger logger, int count);

    [LoggerMessage(3013, LogLevel.Error, "Looking for unfinished tasks to re-enqueue failed; trying again in {DelayMs} ms.")]
    public static partial void RecoveryFailed(ILogger logger, long delayMs, Exception exception);

    [LoggerMessage(3014, LogLevel.Information, "Task {TaskId} is skipped: instance '{Owner}' holds its lease.")]
    public static partial void HeldElsewhere(ILogger logger, Guid taskId, string owner);

    [LoggerMessage(3015, LogLevel.Warning, "Task {TaskId} attempt with lease token {LeaseToken} stopped: another instance took the task.")]
    public static partial void LeaseLost(ILogger logger, Guid taskId, long leaseToken);

    [LoggerMessage(3016, LogLevel.Error,
        "The outcome of task {TaskId} could not be stored because the database stayed unreachable; the task runs again once its lease ends.")]
    public static partial void OutcomeNotStored(ILogger logger, Guid taskId, Exception exception);

    [LoggerMessage(3017, LogLevel.Information, "Handed {Count} queued tasks back for another instance or the next start.")]
    public static partial void HandedBack(ILogger logger, int count);

    [LoggerMessage(3022, LogLevel.Warning,
        "Handing queued tasks back at stop failed or timed out. Their leases run out within {LeaseSeconds} s " +
        "(setting Leases:Duration), and then recovery runs them.")]
    public static partial void HandBackFailed(ILogger logger, double leaseSeconds, Exception? exception);

    [LoggerMessage(3018, LogLevel.Warning, "Renewing task leases failed; trying again in {DelayMs} ms.")]
    public static partial void LeaseRenewalFailed(ILogger logger, long delayMs, Exception exception);

    [LoggerMessage(3019, LogLevel.Debug,
        "Task {TaskId} waits {DelayMs} ms before entering its lane: earlier work of session '{SessionKey}' is not in a lane here yet.")]
    public static partial void SessionDeferred(ILogger logger, Guid taskId, string sessionKey, long delayMs);

    [LoggerMessage(3020, LogLevel.Warning,
        "Creating the Hangfire job of task {TaskId} failed; the recovery sweep creates it once the storage answers.")]
    public static partial void EnqueueFailed(ILogger logger, Guid taskId, Exception exception);

    [LoggerMessage(3021, LogLevel.Information,
        "Task {TaskId} was stored while the instance stops; it runs once its lease ends, on another instance or at the next start.")]
    public static partial void StoredWhileStopping(ILogger logger, Guid taskId);
}

namespace AgentApi.Lanes;

internal static partial class LaneLog
{
    [LoggerMessage(4001, LogLevel.Warning,
        "Work {ItemId} has waited {WaitMs} ms in lane '{Lane}' ({Reason}) at position {Position} of {Waiting} waiting; {Active} of {Limit} slots are taken by: {RunningIds}.")]
    public static partial void LongWait(ILogger logger, string itemId, long waitMs, string lane, string reason, int position, int waiting, int active, int limit, string runningIds);

    [LoggerMessage(4002, LogLevel.Information, "Lane '{Lane}' limit changed from {OldLimit} to {NewLimit}.")]
    public static partial void LimitChanged(ILogger logger, string lane, int oldLimit, int newLimit);

    [LoggerMessage(4003, LogLevel.Error, "Work {ItemId} in lane '{Lane}' threw an unexpected exception.")]
    public static partial void WorkFailed(ILogger logger, string itemId, string lane, Exception exception);

    [LoggerMessage(4004, LogLevel.Error, "The removal callback of work {ItemId} in lane '{Lane}' threw an exception.")]
    public static partial void RemovalCallbackFailed(ILogger logger, string itemId, string lane, Exception exception);

    [LoggerMessage(4005, LogLevel.Information,
        "The lane dispatcher is stopping: {Waiting} waiting items were handed back, {Running} running items and {PendingOutcomes} pending outcomes get {GracePeriodMs} ms to finish.")]
    public static partial void Stopping(ILogger logger, int waiting, int running, int pendingOutcomes, long gracePeriodMs);

    [LoggerMessage(4006, LogLevel.Warning,
        "The lane dispatcher's grace period ended with {Running} items still running and {PendingOutcomes} outcomes pending, so it cancels its shutdown token.")]
    public static partial void GraceExpired(ILogger logger, int running, int pendingOutcomes);

    [LoggerMessage(4007, LogLevel.Error, "The deferred outcome of work {ItemId} in lane '{Lane}' faulted or was cancelled, so the work is counted as failed.")]
    public static partial void OutcomeFailed(ILogger logger, string itemId, string lane, Exception exception);
}

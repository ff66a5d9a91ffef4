namespace AgentApi.Heartbeat;

/// <summary>Log messages of the heartbeat; event ids 8201–8299.</summary>
internal static partial class HeartbeatLog
{
    [LoggerMessage(8201, LogLevel.Information, "Heartbeat started task {TaskId} in session '{SessionKey}'.")]
    public static partial void BeatStarted(ILogger logger, Guid taskId, string sessionKey);

    [LoggerMessage(8202, LogLevel.Debug, "Heartbeat skipped: {Reason}. Next beat at {NextBeatAt}.")]
    public static partial void BeatSkipped(ILogger logger, string reason, DateTimeOffset nextBeatAt);

    [LoggerMessage(8203, LogLevel.Warning, "The heartbeat loop failed; it tries again in {DelayMs} ms.")]
    public static partial void LoopFailed(ILogger logger, long delayMs, Exception exception);

    [LoggerMessage(8204, LogLevel.Information, "Heartbeat task {TaskId} yields to task {UserTaskId} in session '{SessionKey}'.")]
    public static partial void Yielded(ILogger logger, Guid taskId, Guid userTaskId, string sessionKey);

    [LoggerMessage(8205, LogLevel.Warning, "The heartbeat's task was rejected, so the beat was skipped: {Errors}.")]
    public static partial void BeatRejected(ILogger logger, string errors);
}

namespace AgentApi.Schedules;

/// <summary>Log messages of schedules, event ids 10001 to 10099.</summary>
internal static partial class SchedulesLog
{
    [LoggerMessage(10001, LogLevel.Information, "Schedule '{ScheduleId}' created: cron '{Cron}', at {At}, time zone '{TimeZone}', enabled {Enabled}.")]
    public static partial void Created(ILogger logger, string scheduleId, string? cron, DateTimeOffset? at, string timeZone, bool enabled);

    [LoggerMessage(10002, LogLevel.Information, "Schedule '{ScheduleId}' updated: cron '{Cron}', at {At}, time zone '{TimeZone}', enabled {Enabled}.")]
    public static partial void Updated(ILogger logger, string scheduleId, string? cron, DateTimeOffset? at, string timeZone, bool enabled);

    [LoggerMessage(10003, LogLevel.Information, "Schedule '{ScheduleId}' deleted with its runs and its Hangfire job.")]
    public static partial void Deleted(ILogger logger, string scheduleId);

    [LoggerMessage(10004, LogLevel.Warning, "Schedule '{ScheduleId}' lost its Hangfire job (removed in the Hangfire dashboard or directly); the schedule is deleted too.")]
    public static partial void RemovedInHangfire(ILogger logger, string scheduleId);

    [LoggerMessage(10005, LogLevel.Information, "Schedule '{ScheduleId}' slot {ScheduledAt:O} ran as '{Trigger}' with task {TaskId}.")]
    public static partial void Ran(ILogger logger, string scheduleId, DateTimeOffset scheduledAt, string trigger, Guid taskId);

    [LoggerMessage(10006, LogLevel.Information, "Schedule '{ScheduleId}' slot {ScheduledAt:O} skipped: task {BlockingTaskId} of an earlier run is unfinished and the overlap policy is 'skip'.")]
    public static partial void SkippedOverlap(ILogger logger, string scheduleId, DateTimeOffset scheduledAt, Guid blockingTaskId);

    [LoggerMessage(10007, LogLevel.Warning, "Schedule '{ScheduleId}' missed {Count} slots from {FirstSlot:O} to {LastSlot:O}; they are recorded as missed.")]
    public static partial void Missed(ILogger logger, string scheduleId, int count, DateTimeOffset firstSlot, DateTimeOffset lastSlot);

    [LoggerMessage(10008, LogLevel.Information,
        "Schedule '{ScheduleId}' missed {MissedCount} slots while no instance ran; catch-up policy '{CatchUp}' ran {RunCount} of them late.")]
    public static partial void CaughtUp(ILogger logger, string scheduleId, int missedCount, int runCount, string catchUp);

    [LoggerMessage(10009, LogLevel.Information, "Schedule '{ScheduleId}' was triggered manually: run {RunId}, task {TaskId}.")]
    public static partial void Triggered(ILogger logger, string scheduleId, Guid runId, Guid taskId);

    [LoggerMessage(10010, LogLevel.Debug, "Schedule '{ScheduleId}' slot {ScheduledAt:O} is settled already; Hangfire job {HangfireJobId} does nothing.")]
    public static partial void SlotAlreadySettled(ILogger logger, string scheduleId, DateTimeOffset scheduledAt, string? hangfireJobId);

    [LoggerMessage(10011, LogLevel.Debug, "Schedule '{ScheduleId}' slot {ScheduledAt:O} was recorded by another writer first: {Reason}")]
    public static partial void RunAlreadyRecorded(ILogger logger, string scheduleId, DateTimeOffset scheduledAt, string reason);

    [LoggerMessage(10012, LogLevel.Warning, "Schedule '{ScheduleId}' could not submit its task, which is no longer valid: {Problem} Change the schedule's task with PUT.")]
    public static partial void InvalidTask(ILogger logger, string scheduleId, string problem);

    [LoggerMessage(10013, LogLevel.Information, "Schedule '{ScheduleId}' is a one-shot schedule for {At:O} that has run; it is now disabled.")]
    public static partial void OneShotDone(ILogger logger, string scheduleId, DateTimeOffset at);

    [LoggerMessage(10014, LogLevel.Warning, "Recurring job of schedule '{ScheduleId}' ran, but the schedule is deleted or disabled; the recurring job is removed.")]
    public static partial void StaleRecurringJob(ILogger logger, string scheduleId);

    [LoggerMessage(10015, LogLevel.Information, "Hangfire job {HangfireJobId} of one-shot schedule '{ScheduleId}' is not its current job, or the schedule is deleted or disabled; it does nothing.")]
    public static partial void StaleOneShotJob(ILogger logger, string scheduleId, string? hangfireJobId);

    [LoggerMessage(10016, LogLevel.Error, "Looking for missed schedule slots failed; trying again in {RetryDelayMs} ms.")]
    public static partial void SweepFailed(ILogger logger, long retryDelayMs, Exception exception);

    [LoggerMessage(10017, LogLevel.Information, "Gave {Count} schedules their Hangfire jobs again, which embedded mode keeps in memory only.")]
    public static partial void Restored(ILogger logger, int count);

    [LoggerMessage(10018, LogLevel.Warning, "Schedule '{ScheduleId}' has {SkippedCount} more missed slots than the {MaxSlots} newest looked at; the older ones are not recorded.")]
    public static partial void TooManyMissed(ILogger logger, string scheduleId, int skippedCount, int maxSlots);
}

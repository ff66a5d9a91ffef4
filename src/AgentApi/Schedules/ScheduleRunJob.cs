using System.Diagnostics.CodeAnalysis;
using AgentApi.Storage;
using Hangfire;
using Hangfire.Server;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Schedules;

/// <summary>
/// The Hangfire jobs of schedules: the recurring job of a cron schedule, and the scheduled job
/// of a one-shot schedule. Each carries only the schedule id; the rows decide the rest. Their
/// database calls take a <see cref="BackgroundCancellation"/> of Hangfire's shutdown token, which
/// Hangfire cancels on the thread that handles the host's stop signal.
/// </summary>
public sealed class ScheduleRunJob(
    IDbContextFactory<AgentDbContext> dbFactory,
    ScheduleRunner runner,
    ScheduleJobRegistry registry,
    TimeProvider timeProvider,
    ILogger<ScheduleRunJob> logger)
{
    /// <summary>The job parameter in which Hangfire 1.8 stores the time a recurring job's run is for, in Unix seconds.</summary>
    private const string TimeParameter = "Time";

    /// <summary>
    /// How long a job that finds no enabled schedule waits before it looks again. A schedule's
    /// Hangfire job is created just before the row's transaction commits, so a job that runs in
    /// between must not take the missing row for a deleted schedule.
    /// </summary>
    private static readonly TimeSpan CommitGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs one slot of a cron schedule, or a manual run when the job came from a trigger in the
    /// Hangfire dashboard or <c>IRecurringJobManager.Trigger</c>. The recurring job scheduler
    /// creates each job with the exact slot time (missed occurrences are ignored), so a time that
    /// is not a slot also marks a trigger.
    /// </summary>
    [AutomaticRetry(Attempts = 3, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public async Task RunSlotAsync(string scheduleId, PerformContext? context, CancellationToken cancellationToken)
    {
        using var stopping = new BackgroundCancellation(cancellationToken);
        await RunSlotCoreAsync(scheduleId, context, stopping.Token);
    }

    /// <summary>Runs a one-shot schedule; a job replaced by a later change of the schedule does nothing.</summary>
    [AutomaticRetry(Attempts = 3, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public async Task RunOnceAsync(string scheduleId, PerformContext? context, CancellationToken cancellationToken)
    {
        using var stopping = new BackgroundCancellation(cancellationToken);
        await RunOnceCoreAsync(scheduleId, context, stopping.Token);
    }

    private async Task RunSlotCoreAsync(string scheduleId, PerformContext? context, CancellationToken cancellationToken)
    {
        var schedule = await FindAsync(scheduleId, cancellationToken);
        if (schedule is not { Enabled: true, Cron: not null })
        {
            await Task.Delay(CommitGrace, timeProvider, cancellationToken);
            schedule = await FindAsync(scheduleId, cancellationToken);
        }

        if (schedule is not { Enabled: true, Cron: not null })
        {
            // Left behind by a schedule deleted or disabled while its removal from Hangfire failed.
            registry.RemoveRecurring(scheduleId);
            SchedulesLog.StaleRecurringJob(logger, scheduleId);
            return;
        }

        var jobId = context?.BackgroundJob.Id;
        var seconds = context?.GetJobParameter<long?>(TimeParameter);
        var cron = CronSchedule.Parse(schedule.Cron);
        var timeZone = TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone);
        var slot = seconds is { } value ? DateTimeOffset.FromUnixTimeSeconds(value) : (DateTimeOffset?)null;

        if (slot is null || !cron.IsSlot(slot.Value, timeZone) || (jobId is not null && registry.WasTriggered(jobId)))
        {
            await runner.TriggerAsync(schedule, jobId, cancellationToken);
            return;
        }

        await runner.RunSlotAsync(scheduleId, slot.Value, jobId, cancellationToken);
    }

    private async Task RunOnceCoreAsync(string scheduleId, PerformContext? context, CancellationToken cancellationToken)
    {
        var jobId = context?.BackgroundJob.Id;
        var schedule = await FindAsync(scheduleId, cancellationToken);
        if (!IsCurrentOneShot(schedule, jobId))
        {
            await Task.Delay(CommitGrace, timeProvider, cancellationToken);
            schedule = await FindAsync(scheduleId, cancellationToken);
        }

        if (!IsCurrentOneShot(schedule, jobId))
        {
            SchedulesLog.StaleOneShotJob(logger, scheduleId, jobId);
            return;
        }

        await runner.RunOneShotAsync(scheduleId, jobId, cancellationToken);
    }

    private static bool IsCurrentOneShot([NotNullWhen(true)] Schedule? schedule, string? jobId) =>
        schedule is { Enabled: true, At: not null } && (jobId is null || schedule.HangfireJobId is null || jobId == schedule.HangfireJobId);

    private async Task<Schedule?> FindAsync(string scheduleId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Schedules.AsNoTracking().FirstOrDefaultAsync(stored => stored.Id == scheduleId, cancellationToken);
    }
}

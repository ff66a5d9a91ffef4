using AgentApi.Storage;
using AgentApi.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Schedules;

/// <summary>
/// Decides what becomes of each slot and records it: a run that submits a task, a slot skipped
/// because an earlier run is unfinished, or a missed slot. Every decision about one schedule's
/// slots is made under that schedule's lock, and each slot's row is unique, so a slot runs at
/// most once however many instances, deliveries and restarts see it.
/// </summary>
public sealed class ScheduleRunner(
    IDbContextFactory<AgentDbContext> dbFactory,
    TaskService tasks,
    TaskSubmissionValidator taskValidator,
    TaskIdGenerator idGenerator,
    IScheduleLock locks,
    SlotCalendar calendar,
    IOptions<ScheduleOptions> options,
    ILogger<ScheduleRunner> logger)
{
    /// <summary>
    /// Runs the slot that Hangfire's recurring job delivered, unless the slot already has a row
    /// or lies in the settled past. Returns the recorded run, or null when nothing was recorded.
    /// </summary>
    public async Task<ScheduleRun?> RunSlotAsync(string scheduleId, DateTimeOffset slot, string? hangfireJobId, CancellationToken cancellationToken)
    {
        await using (await locks.AcquireAsync(scheduleId, cancellationToken))
        {
            // Read under the lock: a sweep or a change of the schedule may have settled the slot meanwhile.
            var schedule = await FindEnabledAsync(scheduleId, cancellationToken);
            if (schedule?.Cron is null)
            {
                return null;
            }

            if (slot <= schedule.SettledUntil || await IsRecordedAsync(scheduleId, slot, cancellationToken))
            {
                SchedulesLog.SlotAlreadySettled(logger, scheduleId, slot, hangfireJobId);
                return null;
            }

            return await RunOrSkipAsync(schedule, slot, ScheduleRunTrigger.Schedule, hangfireJobId, checkOverlap: true, cancellationToken);
        }
    }

    /// <summary>
    /// Runs the schedule once now, outside its slots: the overlap policy does not apply, and the
    /// next slot stays where it was. <paramref name="hangfireJobId"/> is the job of a trigger in
    /// the Hangfire dashboard; a second delivery of that job records nothing more.
    /// </summary>
    public async Task<ScheduleRunResult> TriggerAsync(Schedule schedule, string? hangfireJobId, CancellationToken cancellationToken)
    {
        if (hangfireJobId is not null && await FindByHangfireJobAsync(hangfireJobId, cancellationToken) is { } delivered)
        {
            return new ScheduleRunResult(delivered, Problem: null);
        }

        var now = calendar.Now;
        var runId = idGenerator.Next();
        var request = ScheduleTasks.BuildRun(schedule.Id, schedule.TaskJson, schedule.WebhookUrl, runId, now, ScheduleRunTrigger.Manual);
        if (Check(request) is { } problem)
        {
            SchedulesLog.InvalidTask(logger, schedule.Id, problem);
            return new ScheduleRunResult(Run: null, $"The schedule's task is no longer valid: {problem} Change it with PUT /api/schedules/{schedule.Id}.");
        }

        var idempotencyKey = hangfireJobId is null ? null : $"agentapi-schedule:{schedule.Id}:job:{hangfireJobId}";
        var submission = await tasks.SubmitAsync(request, idempotencyKey, cancellationToken);
        var run = NewRun(schedule.Id, runId, now, ScheduleRunTrigger.Manual, ScheduleRunOutcome.Ran, hangfireJobId);
        run.TaskId = submission.Task.Id;
        run.StartedAt = now;

        if (!await TryInsertAsync(run, cancellationToken))
        {
            // A second delivery of the same Hangfire job, or the schedule was deleted meanwhile.
            var recorded = hangfireJobId is null ? null : await FindByHangfireJobAsync(hangfireJobId, cancellationToken);
            return new ScheduleRunResult(recorded, recorded is null ? $"Schedule '{schedule.Id}' was deleted while it was triggered." : null);
        }

        SchedulesLog.Triggered(logger, schedule.Id, run.Id, submission.Task.Id);
        return new ScheduleRunResult(run, Problem: null);
    }

    /// <summary>
    /// Runs a one-shot schedule's only slot, or applies its catch-up policy when the slot is
    /// older than <see cref="ScheduleOptions.MissedAfter"/>, and then disables the schedule.
    /// </summary>
    public async Task RunOneShotAsync(string scheduleId, string? hangfireJobId, CancellationToken cancellationToken)
    {
        await using (await locks.AcquireAsync(scheduleId, cancellationToken))
        {
            var schedule = await FindEnabledAsync(scheduleId, cancellationToken);
            if (schedule?.At is not { } slot)
            {
                return;
            }

            if (!await IsRecordedAsync(scheduleId, slot, cancellationToken))
            {
                if (!calendar.IsLate(slot, options.Value.MissedAfter))
                {
                    await RunOrSkipAsync(schedule, slot, ScheduleRunTrigger.Schedule, hangfireJobId, checkOverlap: false, cancellationToken);
                }
                else if (schedule.CatchUp == CatchUpPolicy.Skip)
                {
                    await RecordMissedAsync(schedule, [slot], ScheduleRunTrigger.CatchUp, cancellationToken);
                }
                else
                {
                    await RunOrSkipAsync(schedule, slot, ScheduleRunTrigger.CatchUp, hangfireJobId, checkOverlap: false, cancellationToken);
                }
            }

            await using var db = dbFactory.CreateDbContext();
            await db.Schedules
                .Where(stored => stored.Id == scheduleId && stored.At == slot)
                .ExecuteUpdateAsync(setters => setters
                    .SetProperty(stored => stored.Enabled, false)
                    .SetProperty(stored => stored.SettledUntil, slot)
                    .SetProperty(stored => stored.UpdatedAt, calendar.Now), cancellationToken);
            SchedulesLog.OneShotDone(logger, scheduleId, slot);
        }
    }

    /// <summary>
    /// Applies a cron schedule's catch-up policy at start-up to the slots that fell while no
    /// instance ran: those after <paramref name="after"/> (and after the settled past) up to
    /// <paramref name="until"/> that have no row. Some run late, the rest are recorded as missed.
    /// Returns how many slots it found.
    /// </summary>
    public async Task<int> CatchUpAsync(string scheduleId, DateTimeOffset after, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using (await locks.AcquireAsync(scheduleId, cancellationToken))
        {
            var schedule = await FindEnabledAsync(scheduleId, cancellationToken);
            if (schedule?.Cron is null)
            {
                return 0;
            }

            var from = after > schedule.SettledUntil ? after : schedule.SettledUntil;
            var missed = await FindMissedAsync(schedule, from, until, cancellationToken);
            var plan = CatchUpPlan.For(schedule.CatchUp, missed, options.Value.MaxCatchUpRuns);
            await RecordMissedAsync(schedule, plan.Missed, ScheduleRunTrigger.CatchUp, cancellationToken);
            for (var index = 0; index < plan.Run.Count; index++)
            {
                // Catch-up runs are submitted together and wait in their lane, so only the first
                // is checked against runs that were already unfinished.
                await RunOrSkipAsync(schedule, plan.Run[index], ScheduleRunTrigger.CatchUp, hangfireJobId: null, checkOverlap: index == 0, cancellationToken);
            }

            if (missed.Count > 0)
            {
                SchedulesLog.CaughtUp(logger, scheduleId, missed.Count, plan.Run.Count, WireNames<CatchUpPolicy>.ToName(schedule.CatchUp));
            }

            return missed.Count;
        }
    }

    /// <summary>
    /// Records the slots of a cron schedule that no instance ran while instances were up (older
    /// than <paramref name="missedAfter"/>, after the settled past, without a row) as missed,
    /// and moves the settled past up to them. Returns how many it recorded.
    /// </summary>
    public async Task<int> SettleAsync(string scheduleId, TimeSpan missedAfter, CancellationToken cancellationToken)
    {
        await using (await locks.AcquireAsync(scheduleId, cancellationToken))
        {
            var schedule = await FindEnabledAsync(scheduleId, cancellationToken);
            var until = calendar.MissedUntil(missedAfter);
            if (schedule?.Cron is null || until <= schedule.SettledUntil)
            {
                return 0;
            }

            var missed = await FindMissedAsync(schedule, schedule.SettledUntil, until, cancellationToken);
            await RecordMissedAsync(schedule, missed, ScheduleRunTrigger.Schedule, cancellationToken);

            await using (var db = dbFactory.CreateDbContext())
            {
                await db.Schedules
                    .Where(stored => stored.Id == scheduleId && stored.SettledUntil == schedule.SettledUntil)
                    .ExecuteUpdateAsync(setters => setters.SetProperty(stored => stored.SettledUntil, until), cancellationToken);
            }

            return missed.Count;
        }
    }

    /// <summary>The slots after <paramref name="after"/> and at or before <paramref name="until"/> that have no row, oldest first.</summary>
    private async Task<IReadOnlyList<DateTimeOffset>> FindMissedAsync(
        Schedule schedule,
        DateTimeOffset after,
        DateTimeOffset until,
        CancellationToken cancellationToken)
    {
        var cron = CronSchedule.Parse(schedule.Cron!);
        var timeZone = TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone);
        var slots = calendar.SlotsBetween(cron, timeZone, after, until, options.Value.CatchUpWindow, out var skipped);
        if (skipped > 0)
        {
            SchedulesLog.TooManyMissed(logger, schedule.Id, skipped, SlotCalendar.MaxMissedSlots);
        }

        return await WithoutRecordedAsync(schedule.Id, slots, cancellationToken);
    }

    private async Task<ScheduleRun?> RunOrSkipAsync(
        Schedule schedule,
        DateTimeOffset slot,
        ScheduleRunTrigger trigger,
        string? hangfireJobId,
        bool checkOverlap,
        CancellationToken cancellationToken)
    {
        if (checkOverlap && schedule.Overlap == OverlapPolicy.Skip && await FindBlockingTaskAsync(schedule.Id, cancellationToken) is { } blocking)
        {
            var skipped = NewRun(schedule.Id, idGenerator.Next(), slot, trigger, ScheduleRunOutcome.SkippedOverlap, hangfireJobId);
            if (await TryInsertAsync(skipped, cancellationToken))
            {
                SchedulesLog.SkippedOverlap(logger, schedule.Id, slot, blocking);
                return skipped;
            }

            return null;
        }

        var runId = idGenerator.Next();
        var request = ScheduleTasks.BuildRun(schedule.Id, schedule.TaskJson, schedule.WebhookUrl, runId, slot, trigger);
        if (Check(request) is { } problem)
        {
            SchedulesLog.InvalidTask(logger, schedule.Id, problem);
            var missed = NewRun(schedule.Id, runId, slot, trigger, ScheduleRunOutcome.Missed, hangfireJobId);
            return await TryInsertAsync(missed, cancellationToken) ? missed : null;
        }

        // The key ties the task to the slot, so a retry after a failure between the two writes
        // finds the task it submitted before instead of submitting a second one.
        var idempotencyKey = $"agentapi-schedule:{schedule.Id}:{schedule.CreatedAt.ToUnixTimeMilliseconds()}:{slot.ToUnixTimeMilliseconds()}";
        var submission = await tasks.SubmitAsync(request, idempotencyKey, cancellationToken);
        var run = NewRun(schedule.Id, runId, slot, trigger, ScheduleRunOutcome.Ran, hangfireJobId);
        run.TaskId = submission.Task.Id;
        run.StartedAt = calendar.Now;
        if (!await TryInsertAsync(run, cancellationToken))
        {
            return null;
        }

        SchedulesLog.Ran(logger, schedule.Id, slot, WireNames<ScheduleRunTrigger>.ToName(trigger), submission.Task.Id);
        return run;
    }

    /// <summary>Returns the id of an unfinished task of an earlier run whose deadline has not passed, or null.</summary>
    private async Task<Guid?> FindBlockingTaskAsync(string scheduleId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();

        // Unfinished tasks are usually few, so the query starts from them rather than from the runs.
        var unfinished = await (
                from task in db.Tasks
                where task.Status == AgentTaskStatus.Queued || task.Status == AgentTaskStatus.Running
                join run in db.ScheduleRuns on (Guid?)task.Id equals run.TaskId
                where run.ScheduleId == scheduleId
                select new { task.Id, task.Status, task.CreatedAt, task.TimeoutSeconds })
            .AsNoTracking()
            .ToListAsync(cancellationToken);

        return unfinished.FirstOrDefault(task => calendar.Blocks(task.Status, task.CreatedAt, task.TimeoutSeconds))?.Id;
    }

    private async Task RecordMissedAsync(
        Schedule schedule,
        IReadOnlyList<DateTimeOffset> slots,
        ScheduleRunTrigger trigger,
        CancellationToken cancellationToken)
    {
        if (slots.Count == 0)
        {
            return;
        }

        var rows = slots
            .Select(slot => NewRun(schedule.Id, idGenerator.Next(), slot, trigger, ScheduleRunOutcome.Missed, hangfireJobId: null))
            .ToList();
        try
        {
            await using var db = dbFactory.CreateDbContext();
            db.ScheduleRuns.AddRange(rows);
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // A row of the batch exists already; record the others one by one.
            foreach (var row in rows)
            {
                await TryInsertAsync(row, cancellationToken);
            }
        }

        SchedulesLog.Missed(logger, schedule.Id, slots.Count, slots[0], slots[^1]);
    }

    /// <summary>
    /// Inserts the row, or returns false when its slot or its Hangfire job already has one (or
    /// its schedule was deleted meanwhile). Any other failure is thrown.
    /// </summary>
    private async Task<bool> TryInsertAsync(ScheduleRun run, CancellationToken cancellationToken)
    {
        try
        {
            await using var db = dbFactory.CreateDbContext();
            db.ScheduleRuns.Add(run);
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException exception)
        {
            var slotTaken = run.Trigger != ScheduleRunTrigger.Manual && await IsRecordedAsync(run.ScheduleId, run.ScheduledAt, cancellationToken);
            var jobTaken = run.HangfireJobId is not null && await FindByHangfireJobAsync(run.HangfireJobId, cancellationToken) is not null;
            var scheduleDeleted = !await ExistsAsync(run.ScheduleId, cancellationToken);
            if (slotTaken || jobTaken || scheduleDeleted)
            {
                SchedulesLog.RunAlreadyRecorded(logger, run.ScheduleId, run.ScheduledAt, exception.InnerException?.Message ?? exception.Message);
                return false;
            }

            throw;
        }
    }

    private async Task<IReadOnlyList<DateTimeOffset>> WithoutRecordedAsync(
        string scheduleId,
        IReadOnlyList<DateTimeOffset> slots,
        CancellationToken cancellationToken)
    {
        if (slots.Count == 0)
        {
            return slots;
        }

        var first = slots[0];
        var last = slots[^1];
        await using var db = dbFactory.CreateDbContext();
        var recorded = await db.ScheduleRuns.AsNoTracking()
            .Where(run => run.ScheduleId == scheduleId
                && run.Trigger != ScheduleRunTrigger.Manual
                && run.ScheduledAt >= first
                && run.ScheduledAt <= last)
            .Select(run => run.ScheduledAt)
            .ToListAsync(cancellationToken);
        var recordedSet = recorded.Select(instant => instant.UtcTicks).ToHashSet();
        return slots.Where(slot => !recordedSet.Contains(slot.UtcTicks)).ToList();
    }

    private async Task<bool> IsRecordedAsync(string scheduleId, DateTimeOffset slot, CancellationToken cancellationToken)
    {
        slot = slot.ToUniversalTime();
        await using var db = dbFactory.CreateDbContext();
        return await db.ScheduleRuns.AnyAsync(
            run => run.ScheduleId == scheduleId && run.Trigger != ScheduleRunTrigger.Manual && run.ScheduledAt == slot,
            cancellationToken);
    }

    private async Task<ScheduleRun?> FindByHangfireJobAsync(string hangfireJobId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.ScheduleRuns.AsNoTracking().FirstOrDefaultAsync(run => run.HangfireJobId == hangfireJobId, cancellationToken);
    }

    private async Task<Schedule?> FindEnabledAsync(string scheduleId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Schedules.AsNoTracking().FirstOrDefaultAsync(stored => stored.Id == scheduleId && stored.Enabled, cancellationToken);
    }

    private async Task<bool> ExistsAsync(string scheduleId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Schedules.AnyAsync(stored => stored.Id == scheduleId, cancellationToken);
    }

    /// <summary>Checks a run's submission again: an agent or lane it names may have been removed since the schedule was stored.</summary>
    private string? Check(SubmitTaskRequest request)
    {
        var errors = taskValidator.Validate(request);
        if (errors.Count > 0)
        {
            return string.Join(" ", errors.Select(pair => $"task.{pair.Key}: {string.Join(" ", pair.Value)}"));
        }

        return TaskSubmissionValidator.Forbidden(request);
    }

    private ScheduleRun NewRun(
        string scheduleId,
        Guid runId,
        DateTimeOffset slot,
        ScheduleRunTrigger trigger,
        ScheduleRunOutcome outcome,
        string? hangfireJobId) => new()
    {
        Id = runId,
        ScheduleId = scheduleId,
        ScheduledAt = slot.ToUniversalTime(),
        Trigger = trigger,
        Outcome = outcome,
        HangfireJobId = hangfireJobId,
        RecordedAt = calendar.Now,
    };
}

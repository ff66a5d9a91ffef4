using AgentApi.Storage;
using AgentApi.Tasks;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Schedules;

/// <summary>
/// Creates, changes, deletes and reads schedules, and keeps Hangfire's jobs in step. A row is
/// written in a transaction that commits only after Hangfire has its job, so a reader never
/// sees an enabled schedule whose job does not exist yet. An enabled schedule whose job was
/// removed from Hangfire (in the dashboard, say) is deleted here too, by the next read.
/// </summary>
public sealed class ScheduleService(
    IDbContextFactory<AgentDbContext> dbFactory,
    ScheduleJobRegistry registry,
    TimeProvider timeProvider,
    ILogger<ScheduleService> logger)
{
    /// <summary>Stores a new schedule and creates its Hangfire job; returns null when the id is taken.</summary>
    public async Task<ScheduleResponse?> CreateAsync(ScheduleDefinition definition, CancellationToken cancellationToken)
    {
        // A row left by a schedule removed in Hangfire does not block its id. Checked before the
        // insert, so that a taken id does not log a failed command; the insert still decides a race.
        if (await FindLiveAsync(definition.Id, cancellationToken) is not null)
        {
            return null;
        }

        var now = Now();
        var schedule = new Schedule
        {
            Id = definition.Id,
            TimeZone = definition.TimeZone.Id,
            TaskJson = ScheduleTasks.Serialize(definition.Task),
            CreatedAt = now,
        };
        Apply(schedule, definition, now);
        schedule.SettledUntil = now;

        await using var db = dbFactory.CreateDbContext();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Schedules.Add(schedule);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            if (await ExistsAsync(definition.Id, cancellationToken))
            {
                return null;
            }

            throw;
        }

        if (schedule.Enabled)
        {
            await AddJobAsync(db, schedule, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        SchedulesLog.Created(logger, schedule.Id, schedule.Cron, schedule.At, schedule.TimeZone, schedule.Enabled);
        return (await ToResponsesAsync([schedule], cancellationToken))[0];
    }

    /// <summary>Counts the stored schedules, enabled or not.</summary>
    public async Task<int> CountAsync(CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Schedules.CountAsync(cancellationToken);
    }

    /// <summary>Replaces a schedule's definition and updates its Hangfire job; returns null when it does not exist.</summary>
    public async Task<ScheduleResponse?> UpdateAsync(ScheduleDefinition definition, CancellationToken cancellationToken)
    {
        if (await FindLiveAsync(definition.Id, cancellationToken) is null)
        {
            return null;
        }

        await using var db = dbFactory.CreateDbContext();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var schedule = await db.Schedules.FirstOrDefaultAsync(stored => stored.Id == definition.Id, cancellationToken);
        if (schedule is null)
        {
            return null;
        }

        var before = new { schedule.Cron, schedule.At, schedule.TimeZone, schedule.Enabled, schedule.HangfireJobId };
        var now = Now();
        Apply(schedule, definition, now);
        schedule.TimeZone = definition.TimeZone.Id;
        schedule.TaskJson = ScheduleTasks.Serialize(definition.Task);

        // Slots of the old timing, or of the time the schedule was off, are not missed.
        var timingChanged = before.Cron != schedule.Cron || before.At != schedule.At || before.TimeZone != schedule.TimeZone;
        if (timingChanged || (schedule.Enabled && !before.Enabled))
        {
            schedule.SettledUntil = now;
        }

        var keepOneShotJob = schedule.Enabled && before.Enabled && !timingChanged && schedule.At is not null && before.HangfireJobId is not null;
        if (!keepOneShotJob)
        {
            schedule.HangfireJobId = null;
        }

        await db.SaveChangesAsync(cancellationToken);
        if (schedule.Enabled && !keepOneShotJob)
        {
            await AddJobAsync(db, schedule, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);

        // Removed only after the commit, so that no reader sees the old row enabled without its job.
        if (!schedule.Enabled || schedule.Cron is null)
        {
            registry.RemoveRecurring(schedule.Id);
        }

        if (before.HangfireJobId is { } oldJob && oldJob != schedule.HangfireJobId)
        {
            registry.DeleteOneShot(oldJob);
        }

        SchedulesLog.Updated(logger, schedule.Id, schedule.Cron, schedule.At, schedule.TimeZone, schedule.Enabled);
        return (await ToResponsesAsync([schedule], cancellationToken))[0];
    }

    /// <summary>Deletes a schedule, its runs and its Hangfire job; returns false when it does not exist. Its tasks stay.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        Schedule? schedule;
        await using (var db = dbFactory.CreateDbContext())
        {
            schedule = await db.Schedules.AsNoTracking().FirstOrDefaultAsync(stored => stored.Id == id, cancellationToken);
            if (schedule is null)
            {
                return false;
            }

            await db.Schedules.Where(stored => stored.Id == id).ExecuteDeleteAsync(cancellationToken);
        }

        registry.RemoveRecurring(id);
        if (schedule.HangfireJobId is { } jobId)
        {
            registry.DeleteOneShot(jobId);
        }

        SchedulesLog.Deleted(logger, id);
        return true;
    }

    public async Task<ScheduleResponse?> GetAsync(string id, CancellationToken cancellationToken) =>
        await FindLiveAsync(id, cancellationToken) is { } schedule
            ? (await ToResponsesAsync([schedule], cancellationToken))[0]
            : null;

    /// <summary>Every schedule, ordered by id.</summary>
    public async Task<IReadOnlyList<ScheduleResponse>> ListAsync(CancellationToken cancellationToken)
    {
        List<Schedule> schedules;
        await using (var db = dbFactory.CreateDbContext())
        {
            schedules = await db.Schedules.AsNoTracking().OrderBy(schedule => schedule.Id).ToListAsync(cancellationToken);
        }

        var live = await RemoveDeletedInHangfireAsync(schedules, cancellationToken);
        return await ToResponsesAsync(live, cancellationToken);
    }

    /// <summary>The schedule, or null when it does not exist or its job was removed from Hangfire (which deletes it here).</summary>
    public async Task<Schedule?> FindLiveAsync(string id, CancellationToken cancellationToken)
    {
        Schedule? schedule;
        await using (var db = dbFactory.CreateDbContext())
        {
            schedule = await db.Schedules.AsNoTracking().FirstOrDefaultAsync(stored => stored.Id == id, cancellationToken);
        }

        return schedule is null ? null : (await RemoveDeletedInHangfireAsync([schedule], cancellationToken)).FirstOrDefault();
    }

    /// <summary>Runs of a schedule, newest slot first; null when the schedule does not exist.</summary>
    public async Task<IReadOnlyList<ScheduleRunResponse>?> GetRunsAsync(string id, int limit, CancellationToken cancellationToken)
    {
        if (await FindLiveAsync(id, cancellationToken) is null)
        {
            return null;
        }

        await using var db = dbFactory.CreateDbContext();
        var runs = await db.ScheduleRuns.AsNoTracking()
            .Where(run => run.ScheduleId == id)
            .OrderByDescending(run => run.ScheduledAt)
            .ThenByDescending(run => run.Id)
            .Take(limit)
            .ToListAsync(cancellationToken);

        var taskIds = runs.Where(run => run.TaskId is not null).Select(run => run.TaskId!.Value).ToList();
        var statuses = await db.Tasks.AsNoTracking()
            .Where(task => taskIds.Contains(task.Id))
            .Select(task => new { task.Id, task.Status })
            .ToDictionaryAsync(task => task.Id, task => task.Status, cancellationToken);

        return runs.Select(run => new ScheduleRunResponse(
                run.Id,
                run.ScheduledAt,
                run.StartedAt,
                WireNames<ScheduleRunOutcome>.ToName(run.Outcome),
                WireNames<ScheduleRunTrigger>.ToName(run.Trigger),
                run.TaskId,
                run.TaskId is { } taskId && statuses.TryGetValue(taskId, out var status) ? WireNames<AgentTaskStatus>.ToName(status) : null))
            .ToList();
    }

    /// <summary>
    /// Returns the schedules that still have their Hangfire job, and deletes the enabled ones
    /// whose job was removed there: a recurring job removed in the dashboard, or a one-shot
    /// job deleted there.
    /// </summary>
    public async Task<IReadOnlyList<Schedule>> RemoveDeletedInHangfireAsync(IReadOnlyList<Schedule> schedules, CancellationToken cancellationToken)
    {
        var recurring = registry.ReadRecurring(schedules.Where(IsEnabledCron).Select(schedule => schedule.Id));
        var live = new List<Schedule>(schedules.Count);
        foreach (var schedule in schedules)
        {
            var deletedInHangfire = IsEnabledCron(schedule)
                ? !recurring.ContainsKey(schedule.Id)
                : schedule is { Enabled: true, HangfireJobId: { } jobId } && registry.IsDeleted(jobId);
            if (!deletedInHangfire)
            {
                live.Add(schedule);
                continue;
            }

            await using var db = dbFactory.CreateDbContext();

            // Only the row as read: a schedule changed meanwhile is judged again by the next read.
            var deleted = await db.Schedules
                .Where(stored => stored.Id == schedule.Id && stored.UpdatedAt == schedule.UpdatedAt)
                .ExecuteDeleteAsync(cancellationToken);
            if (deleted > 0)
            {
                SchedulesLog.RemovedInHangfire(logger, schedule.Id);
            }
        }

        return live;
    }

    /// <summary>The time in whole milliseconds, so that the response shows the same instant as every later read.</summary>
    private DateTimeOffset Now()
    {
        var now = timeProvider.GetUtcNow();
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    private static bool IsEnabledCron(Schedule schedule) => schedule is { Enabled: true, Cron: not null };

    private static void Apply(Schedule schedule, ScheduleDefinition definition, DateTimeOffset now)
    {
        schedule.Cron = definition.Cron?.Text;
        schedule.At = definition.At;
        schedule.Enabled = definition.Enabled;
        schedule.Overlap = definition.Overlap;
        schedule.CatchUp = definition.CatchUp;
        schedule.WebhookUrl = definition.WebhookUrl;
        schedule.UpdatedAt = now;
    }

    /// <summary>Creates the Hangfire job of an enabled schedule; a one-shot job's id is saved on the row.</summary>
    private async Task AddJobAsync(AgentDbContext db, Schedule schedule, CancellationToken cancellationToken)
    {
        if (schedule.Cron is not null)
        {
            registry.AddOrUpdateRecurring(schedule);
            return;
        }

        schedule.HangfireJobId = registry.ScheduleOneShot(schedule);
        await db.SaveChangesAsync(cancellationToken);
    }

    private async Task<bool> ExistsAsync(string id, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Schedules.AnyAsync(stored => stored.Id == id, cancellationToken);
    }

    private async Task<IReadOnlyList<ScheduleResponse>> ToResponsesAsync(IReadOnlyList<Schedule> schedules, CancellationToken cancellationToken)
    {
        var ids = schedules.Select(schedule => schedule.Id).ToList();
        var recurring = registry.ReadRecurring(schedules.Where(IsEnabledCron).Select(schedule => schedule.Id));

        await using var db = dbFactory.CreateDbContext();
        var lastStarts = await db.ScheduleRuns.AsNoTracking()
            .Where(run => ids.Contains(run.ScheduleId) && run.StartedAt != null)
            .GroupBy(run => run.ScheduleId)
            .Select(group => new { ScheduleId = group.Key, LastStartedAt = group.Max(run => run.StartedAt) })
            .ToDictionaryAsync(last => last.ScheduleId, last => last.LastStartedAt, cancellationToken);

        return schedules.Select(schedule =>
            {
                recurring.TryGetValue(schedule.Id, out var job);
                lastStarts.TryGetValue(schedule.Id, out var lastStartedAt);
                return ToResponse(schedule, job, lastStartedAt);
            })
            .ToList();
    }

    /// <summary>
    /// <c>nextRunAt</c> is Hangfire's next execution, as its dashboard shows it, or a pending
    /// one-shot's time. <c>lastRunAt</c> is the later of Hangfire's last execution and the newest
    /// run started here, because a trigger through the API does not go through Hangfire.
    /// </summary>
    private static ScheduleResponse ToResponse(Schedule schedule, RecurringJobDto? job, DateTimeOffset? lastStartedAt)
    {
        DateTimeOffset? nextRunAt = schedule switch
        {
            { Enabled: false } => null,
            { Cron: not null } => AsUtc(job?.NextExecution),
            _ => schedule.At,
        };

        var lastExecution = AsUtc(job?.LastExecution);
        var lastRunAt = lastStartedAt;
        if (lastExecution is not null && (lastRunAt is null || lastExecution > lastRunAt))
        {
            lastRunAt = lastExecution;
        }

        return new ScheduleResponse(
            schedule.Id,
            schedule.Cron,
            schedule.At,
            schedule.TimeZone,
            ScheduleTasks.ToJson(schedule.TaskJson),
            schedule.Enabled,
            WireNames<OverlapPolicy>.ToName(schedule.Overlap),
            WireNames<CatchUpPolicy>.ToName(schedule.CatchUp),
            schedule.WebhookUrl,
            nextRunAt,
            lastRunAt,
            schedule.Cron is not null ? ScheduleJobRegistry.RecurringJobIdOf(schedule.Id) : schedule.HangfireJobId,
            schedule.CreatedAt,
            schedule.UpdatedAt);
    }

    private static DateTimeOffset? AsUtc(DateTime? value) =>
        value is { } utc ? new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)) : null;
}

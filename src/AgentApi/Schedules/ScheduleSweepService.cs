using AgentApi.Storage;
using AgentApi.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Schedules;

/// <summary>
/// Finds missed slots. At start-up, before the Hangfire server starts, it applies each cron
/// schedule's catch-up policy to the slots that fell while no instance ran. Then, every
/// <see cref="ScheduleOptions.SweepInterval"/>, it records as missed the slots that are older
/// than <see cref="ScheduleOptions.MissedAfter"/> and have no row: slots Hangfire skipped because
/// its scheduler was late, or whose job was lost. In embedded mode Hangfire's in-memory storage
/// starts empty, so start-up also creates the schedules' Hangfire jobs again.
/// </summary>
internal sealed class ScheduleSweepService(
    IDbContextFactory<AgentDbContext> dbFactory,
    ScheduleRunner runner,
    ScheduleService schedules,
    ScheduleJobRegistry registry,
    StorageInfo storage,
    SlotCalendar calendar,
    IOptions<ScheduleOptions> options,
    TimeProvider timeProvider,
    ILogger<ScheduleSweepService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    /// <summary>
    /// Whether the start-up catch-up has been done. Until then it is tried again instead of a
    /// sweep: in embedded mode a sweep would take the Hangfire jobs not yet created again for
    /// jobs removed in the dashboard, and delete their schedules.
    /// </summary>
    private bool _caughtUp;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await TrySweepAsync(cancellationToken);
        _loop = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Not awaited, because a sweep's database call can delay the cancellation for seconds.
        HostedStop.CancelInBackground(_stopping);
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(options.Value.SweepInterval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await TrySweepAsync(stoppingToken);
        }
    }

    private async Task TrySweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!_caughtUp)
            {
                await CatchUpAsync(cancellationToken);
                _caughtUp = true;
            }
            else
            {
                await SettleAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception exception) when (StorageRetry.IsStorageFailure(exception) || exception is Hangfire.BackgroundJobClientException)
        {
            // A start-up goes on without schedules rather than not at all; the next sweep tries again.
            SchedulesLog.SweepFailed(logger, (long)options.Value.SweepInterval.TotalMilliseconds, exception);
        }
    }

    /// <summary>
    /// Applies the catch-up policies once at start-up. On PostgreSQL a slot counts as missed
    /// while no instance ran when Hangfire has not fired it (it is after the recurring job's last
    /// execution) and never will (it is older than <see cref="ScheduleJobRegistry.FiringWindow"/>).
    /// In embedded mode every slot up to now counts, because no job exists yet that could still
    /// deliver one; the jobs are created after.
    /// </summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var embedded = storage.Mode == StorageMode.Embedded;
        var enabled = await LoadEnabledAsync(cancellationToken);
        var live = embedded ? enabled : await schedules.RemoveDeletedInHangfireAsync(enabled, cancellationToken);
        var recurring = embedded
            ? new Dictionary<string, Hangfire.Storage.RecurringJobDto>()
            : registry.ReadRecurring(live.Where(schedule => schedule.Cron is not null).Select(schedule => schedule.Id));
        var until = embedded ? calendar.Now : calendar.Now - ScheduleJobRegistry.FiringWindow;

        var restored = 0;
        foreach (var schedule in live)
        {
            if (schedule.Cron is not null)
            {
                var lastFired = recurring.TryGetValue(schedule.Id, out var job) && job.LastExecution is { } last
                    ? new DateTimeOffset(DateTime.SpecifyKind(last, DateTimeKind.Utc))
                    : DateTimeOffset.MinValue;
                await runner.CatchUpAsync(schedule.Id, lastFired, until, cancellationToken);
                if (embedded)
                {
                    registry.AddOrUpdateRecurring(schedule);
                    restored++;
                }

                continue;
            }

            if (schedule.At is not { } at)
            {
                continue;
            }

            if (at <= calendar.Now)
            {
                // Overdue: it runs now, or late, or is missed, as its catch-up policy decides.
                await runner.RunOneShotAsync(schedule.Id, hangfireJobId: null, cancellationToken);
            }
            else if (embedded)
            {
                var jobId = registry.ScheduleOneShot(schedule);
                await using var db = dbFactory.CreateDbContext();
                await db.Schedules
                    .Where(stored => stored.Id == schedule.Id)
                    .ExecuteUpdateAsync(setters => setters.SetProperty(stored => stored.HangfireJobId, jobId), cancellationToken);
                restored++;
            }
        }

        if (embedded)
        {
            SchedulesLog.Restored(logger, restored);
        }
    }

    /// <summary>Records missed slots of every enabled schedule whose Hangfire job still exists.</summary>
    private async Task SettleAsync(CancellationToken cancellationToken)
    {
        var missedAfter = options.Value.MissedAfter;
        foreach (var schedule in await schedules.RemoveDeletedInHangfireAsync(await LoadEnabledAsync(cancellationToken), cancellationToken))
        {
            if (schedule.Cron is not null)
            {
                await runner.SettleAsync(schedule.Id, missedAfter, cancellationToken);
            }
            else if (schedule.At is { } at && calendar.IsLate(at, missedAfter))
            {
                // Its job should have run by now; this also covers a job lost with its process.
                await runner.RunOneShotAsync(schedule.Id, hangfireJobId: null, cancellationToken);
            }
        }
    }

    private async Task<List<Schedule>> LoadEnabledAsync(CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Schedules.AsNoTracking()
            .Where(schedule => schedule.Enabled)
            .OrderBy(schedule => schedule.Id)
            .ToListAsync(cancellationToken);
    }
}

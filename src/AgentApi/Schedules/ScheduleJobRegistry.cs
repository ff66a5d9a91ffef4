using Hangfire;
using Hangfire.States;
using Hangfire.Storage;

namespace AgentApi.Schedules;

/// <summary>
/// Keeps Hangfire in step with the schedules: a cron schedule is the recurring job
/// <c>schedule:&lt;id&gt;</c>, and a one-shot schedule a scheduled background job. It also reads
/// back what the Hangfire dashboard shows, so that the API shows the same.
/// </summary>
public sealed class ScheduleJobRegistry(
    IRecurringJobManager recurringJobs,
    IBackgroundJobClient backgroundJobs,
    JobStorage storage)
{
    /// <summary>
    /// How late Hangfire's recurring job scheduler still fires a slot. With misfires ignored it
    /// fires an occurrence only within twice its polling interval (the server's
    /// <c>SchedulePollingInterval</c> of 1 second, set in <c>QueueExtensions</c>); one more second
    /// covers its own work. A slot older than this that it has not fired, it never fires.
    /// </summary>
    public static readonly TimeSpan FiringWindow = TimeSpan.FromSeconds(3);

    private const string RecurringJobPrefix = "schedule:";

    public static string RecurringJobIdOf(string scheduleId) => RecurringJobPrefix + scheduleId;

    /// <summary>
    /// Creates or updates the recurring job of an enabled cron schedule. Missed occurrences are
    /// ignored by Hangfire (the sweep records them instead), and every job it creates carries the
    /// exact slot time in its <c>Time</c> parameter.
    /// </summary>
    public void AddOrUpdateRecurring(Schedule schedule)
    {
        var timeZone = TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone);
        var scheduleId = schedule.Id;
        recurringJobs.AddOrUpdate<ScheduleRunJob>(
            RecurringJobIdOf(scheduleId),
            job => job.RunSlotAsync(scheduleId, null, CancellationToken.None),
            schedule.Cron!,
            new RecurringJobOptions { TimeZone = timeZone, MisfireHandling = MisfireHandlingMode.Ignorable });
    }

    public void RemoveRecurring(string scheduleId) => recurringJobs.RemoveIfExists(RecurringJobIdOf(scheduleId));

    /// <summary>Schedules the run of a one-shot schedule at its time and returns the job id.</summary>
    public string ScheduleOneShot(Schedule schedule)
    {
        var scheduleId = schedule.Id;
        return backgroundJobs.Schedule<ScheduleRunJob>(
            job => job.RunOnceAsync(scheduleId, null, CancellationToken.None),
            schedule.At!.Value);
    }

    public void DeleteOneShot(string jobId) => backgroundJobs.Delete(jobId);

    /// <summary>Reads the recurring jobs of the given schedules; a schedule without one is left out.</summary>
    public IReadOnlyDictionary<string, RecurringJobDto> ReadRecurring(IEnumerable<string> scheduleIds)
    {
        var ids = scheduleIds.Select(RecurringJobIdOf).ToList();
        if (ids.Count == 0)
        {
            return new Dictionary<string, RecurringJobDto>();
        }

        using var connection = storage.GetConnection();
        return connection.GetRecurringJobs(ids)
            .Where(job => !job.Removed)
            .ToDictionary(job => job.Id[RecurringJobPrefix.Length..], StringComparer.Ordinal);
    }

    /// <summary>Returns whether the background job was deleted, in the Hangfire dashboard or otherwise.</summary>
    public bool IsDeleted(string jobId)
    {
        using var connection = storage.GetConnection();
        var state = connection.GetStateData(jobId);
        return state is null || string.Equals(state.Name, DeletedState.StateName, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Returns whether a job was created by a trigger of its recurring job (the dashboard's
    /// "Trigger now" or <c>IRecurringJobManager.Trigger</c>) rather than by the recurring job
    /// scheduler, from the reason Hangfire 1.8 stores with the job's first enqueued state.
    /// </summary>
    public bool WasTriggered(string jobId)
    {
        var history = storage.GetMonitoringApi().JobDetails(jobId)?.History ?? [];
        var created = history
            .Where(state => string.Equals(state.StateName, EnqueuedState.StateName, StringComparison.OrdinalIgnoreCase))
            .MinBy(state => state.CreatedAt);
        return created?.Reason?.StartsWith("Triggered using recurring job manager", StringComparison.Ordinal) == true;
    }
}

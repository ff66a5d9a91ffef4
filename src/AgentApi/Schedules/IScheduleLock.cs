namespace AgentApi.Schedules;

/// <summary>
/// Serializes the decisions about one schedule's slots (overlap checks, catch-up, one-shot
/// runs) across every instance that shares the database.
/// </summary>
public interface IScheduleLock
{
    /// <summary>Waits until this caller holds the schedule's lock; disposing the result releases it.</summary>
    Task<IAsyncDisposable> AcquireAsync(string scheduleId, CancellationToken cancellationToken);
}

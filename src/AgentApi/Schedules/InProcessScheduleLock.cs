using System.Collections.Concurrent;

namespace AgentApi.Schedules;

/// <summary>A lock per schedule inside this process, for the embedded mode, where only one process uses the database.</summary>
internal sealed class InProcessScheduleLock : IScheduleLock
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> AcquireAsync(string scheduleId, CancellationToken cancellationToken)
    {
        // NOTE: one semaphore per schedule id ever seen is kept for the process's life; ids are
        // few and short, so this stays small.
        var semaphore = _locks.GetOrAdd(scheduleId, _ => new SemaphoreSlim(1, 1));
        await semaphore.WaitAsync(cancellationToken);
        return new AcquiredLock(semaphore);
    }

    private sealed class AcquiredLock(SemaphoreSlim semaphore) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}

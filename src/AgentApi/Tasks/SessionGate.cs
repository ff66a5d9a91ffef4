using System.Collections.Concurrent;

namespace AgentApi.Tasks;

/// <summary>One lock per session key, held while a task of that session is handed to its lane.</summary>
public sealed class SessionGate
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async Task<IDisposable> EnterAsync(string sessionKey, CancellationToken cancellationToken)
    {
        Entry entry;
        while (true)
        {
            entry = _entries.GetOrAdd(sessionKey, static _ => new Entry());
            lock (entry)
            {
                // An entry that was just removed is not reused; take a fresh one.
                if (entry.Users >= 0)
                {
                    entry.Users++;
                    break;
                }
            }
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(sessionKey, entry);
            throw;
        }

        return new Release(this, sessionKey, entry);
    }

    private void Leave(string sessionKey, Entry entry)
    {
        lock (entry)
        {
            if (--entry.Users == 0)
            {
                entry.Users = -1;
                _entries.TryRemove(new KeyValuePair<string, Entry>(sessionKey, entry));
            }
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        /// <summary>Callers holding or waiting for the lock; -1 once the entry is retired.</summary>
        public int Users { get; set; }
    }

    private sealed class Release(SessionGate gate, string sessionKey, Entry entry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                entry.Semaphore.Release();
                gate.Leave(sessionKey, entry);
            }
        }
    }
}

using System.Collections.Concurrent;

namespace AgentApi.Processes;

/// <summary>The programs of process agents running in this instance, for the dashboard's system page.</summary>
public sealed class RunningProcessRegistry
{
    private readonly ConcurrentDictionary<long, RunningProcess> _running = new();
    private long _nextId;

    /// <summary>The running programs, oldest first.</summary>
    public IReadOnlyList<RunningProcess> All => [.. _running.Values.OrderBy(process => process.StartedAt).ThenBy(process => process.ProcessId)];

    /// <summary>Adds <paramref name="process"/> until the returned handle is disposed.</summary>
    public IDisposable Add(RunningProcess process)
    {
        var id = Interlocked.Increment(ref _nextId);
        _running[id] = process;
        return new Registration(this, id);
    }

    private sealed class Registration(RunningProcessRegistry registry, long id) : IDisposable
    {
        public void Dispose() => registry._running.TryRemove(id, out _);
    }
}

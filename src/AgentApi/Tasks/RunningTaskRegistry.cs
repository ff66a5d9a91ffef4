using System.Collections.Concurrent;

namespace AgentApi.Tasks;

/// <summary>The tasks waiting in a lane or running in this process, so that a cancel request can reach their token.</summary>
public sealed class RunningTaskRegistry
{
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _running = new();

    public IDisposable Register(Guid taskId, CancellationTokenSource cancellation)
    {
        _running[taskId] = cancellation;
        return new Registration(this, taskId, cancellation);
    }

    /// <summary>Returns whether the task waits in a lane or runs in this process.</summary>
    public bool Contains(Guid taskId) => _running.ContainsKey(taskId);

    /// <summary>The tasks waiting in a lane or running in this process now.</summary>
    public IReadOnlyList<Guid> Ids => _running.Keys.ToList();

    /// <summary>Cancels the task's work when it runs in this process; returns whether it did.</summary>
    public bool TryCancel(Guid taskId)
    {
        if (!_running.TryGetValue(taskId, out var cancellation))
        {
            return false;
        }

        try
        {
            cancellation.Cancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            // The task finished between the lookup and the cancel.
            return false;
        }
    }

    private sealed class Registration(RunningTaskRegistry registry, Guid taskId, CancellationTokenSource cancellation) : IDisposable
    {
        public void Dispose() => registry._running.TryRemove(new KeyValuePair<Guid, CancellationTokenSource>(taskId, cancellation));
    }
}

using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using AgentApi.Tasks;

namespace AgentApi.Events;

/// <summary>
/// Hands task events to the readers in this process once they are stored. Events saved here go
/// to the relay as well, which passes them to the other instances; events from the relay are
/// only delivered.
/// </summary>
/// <remarks>
/// Delivery is best effort and may reorder or drop events under load; readers that need every
/// event keep their position and read gaps back from the store (see <see cref="TaskEventFeed"/>).
/// </remarks>
public sealed class TaskEventBus
{
    private readonly ConcurrentDictionary<Guid, ImmutableArray<ITaskEventSink>> _byTask = new();
    private readonly Lock _allSync = new();
    private volatile ITaskEventSink[] _all = [];
    private Channel<TaskEvent>? _outbound;

    /// <summary>The number of tasks that have at least one reader here.</summary>
    public int WatchedTaskCount => _byTask.Count;

    /// <summary>Delivers events that this process has just stored, and passes them on to the relay.</summary>
    public void Publish(IReadOnlyList<TaskEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        Deliver(events);
        if (Volatile.Read(ref _outbound) is { } outbound)
        {
            foreach (var taskEvent in events)
            {
                outbound.Writer.TryWrite(taskEvent);
            }
        }
    }

    /// <summary>Delivers events that another instance stored.</summary>
    public void Deliver(IReadOnlyList<TaskEvent> events)
    {
        var all = _all;
        foreach (var taskEvent in events)
        {
            foreach (var sink in all)
            {
                sink.OnEvent(taskEvent);
            }

            if (_byTask.TryGetValue(taskEvent.TaskId, out var sinks))
            {
                foreach (var sink in sinks)
                {
                    sink.OnEvent(taskEvent);
                }
            }
        }
    }

    /// <summary>Tells every reader of one task that it may have missed events.</summary>
    public void Resync()
    {
        foreach (var sinks in _byTask.Values)
        {
            foreach (var sink in sinks)
            {
                sink.OnResync();
            }
        }

        foreach (var sink in _all)
        {
            sink.OnResync();
        }
    }

    /// <summary>Returns whether some reader here wants the events of <paramref name="taskId"/>, or of every task.</summary>
    public bool IsWatched(Guid taskId) => _all.Length > 0 || _byTask.ContainsKey(taskId);

    public IDisposable SubscribeTask(Guid taskId, ITaskEventSink sink)
    {
        _byTask.AddOrUpdate(taskId, static (_, sink) => [sink], static (_, sinks, sink) => sinks.Add(sink), sink);
        return new Registration(() => RemoveTaskSink(taskId, sink));
    }

    public IDisposable SubscribeAll(ITaskEventSink sink)
    {
        lock (_allSync)
        {
            _all = [.. _all, sink];
        }

        return new Registration(() =>
        {
            lock (_allSync)
            {
                _all = _all.Where(other => !ReferenceEquals(other, sink)).ToArray();
            }
        });
    }

    /// <summary>
    /// Starts copying the events stored here to a channel for the relay; only one relay may read
    /// it. Events are dropped, not queued without bound, when the relay falls behind by
    /// <paramref name="capacity"/> events.
    /// </summary>
    public ChannelReader<TaskEvent> OpenOutbound(int capacity)
    {
        var channel = Channel.CreateBounded<TaskEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        if (Interlocked.CompareExchange(ref _outbound, channel, null) is not null)
        {
            throw new InvalidOperationException("The task event relay is already open.");
        }

        return channel.Reader;
    }

    private void RemoveTaskSink(Guid taskId, ITaskEventSink sink)
    {
        while (_byTask.TryGetValue(taskId, out var sinks))
        {
            var remaining = sinks.Remove(sink);
            var removed = remaining.IsEmpty
                ? _byTask.TryRemove(new KeyValuePair<Guid, ImmutableArray<ITaskEventSink>>(taskId, sinks))
                : _byTask.TryUpdate(taskId, remaining, sinks);
            if (removed)
            {
                return;
            }
        }
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
    }
}

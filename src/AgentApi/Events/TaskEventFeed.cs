using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AgentApi.Tasks;

namespace AgentApi.Events;

/// <summary>
/// Streams one task's events from a position: first the stored ones, then live ones as they are
/// published, with no gap and no duplicate, until the task's final event.
/// </summary>
/// <remarks>
/// The reader subscribes before it reads the store, so nothing published meanwhile is missed.
/// It keeps the last sequence it returned: a live event at or below it is a duplicate and skipped,
/// and one beyond the next sequence means events were missed (dropped under load, or stored by
/// another instance while the relay was down), so the missing ones are read from the store.
/// </remarks>
public sealed class TaskEventFeed(TaskStore store, TaskEventBus bus)
{
    /// <summary>Live events a reader may fall behind by before newer ones are read back from the store instead.</summary>
    public const int LiveBufferSize = 1_024;

    private const int PageSize = 500;

    public async IAsyncEnumerable<TaskEvent> StreamAsync(
        Guid taskId,
        long afterSequence,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var sink = new Sink();
        using var registration = bus.SubscribeTask(taskId, sink);
        var cursor = afterSequence;

        // The first pass reads everything stored; later passes read only gaps.
        var stored = true;
        while (true)
        {
            if (stored)
            {
                stored = false;
                await foreach (var taskEvent in ReadStoredAsync(taskId, cursor, cancellationToken))
                {
                    cursor = taskEvent.Sequence;
                    yield return taskEvent;
                    if (TaskEventTypes.IsFinal(taskEvent.Type))
                    {
                        yield break;
                    }
                }

                if (await IsFinishedAtAsync(taskId, cursor, cancellationToken))
                {
                    yield break;
                }
            }

            var next = await sink.ReadAsync(cancellationToken);
            if (next is null || next.Sequence > cursor + 1)
            {
                // Missed events, or a resync: the store has them in order.
                stored = true;
                continue;
            }

            if (next.Sequence <= cursor)
            {
                continue;
            }

            cursor = next.Sequence;
            yield return next;
            if (TaskEventTypes.IsFinal(next.Type))
            {
                yield break;
            }
        }
    }

    private async IAsyncEnumerable<TaskEvent> ReadStoredAsync(
        Guid taskId,
        long afterSequence,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await store.GetEventsAsync(taskId, afterSequence, PageSize, cancellationToken);
            foreach (var taskEvent in page)
            {
                afterSequence = taskEvent.Sequence;
                yield return taskEvent;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// Returns whether the task has finished and its last event is at or before <paramref name="cursor"/>,
    /// so that nothing more will come. A task that is gone also ends the stream.
    /// </summary>
    private async Task<bool> IsFinishedAtAsync(Guid taskId, long cursor, CancellationToken cancellationToken)
    {
        var task = await store.FindAsync(taskId, cancellationToken);
        return task is null || (task.IsFinished && task.LastSequence <= cursor);
    }

    /// <summary>Buffers live events for one reader; a full buffer or a resync becomes one "read the store" signal.</summary>
    private sealed class Sink : ITaskEventSink
    {
        // Wait, not DropWrite: with DropWrite a full channel drops the event and TryWrite still returns true.
        private readonly Channel<TaskEvent> _events = Channel.CreateBounded<TaskEvent>(new BoundedChannelOptions(LiveBufferSize)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        private int _missed;

        public void OnEvent(TaskEvent taskEvent)
        {
            if (!_events.Writer.TryWrite(taskEvent))
            {
                Volatile.Write(ref _missed, 1);
            }
        }

        public void OnResync()
        {
            Volatile.Write(ref _missed, 1);
            _events.Writer.TryWrite(ResyncMarker);
        }

        /// <summary>Returns the next live event, or null when events were missed and the store must be read.</summary>
        public async ValueTask<TaskEvent?> ReadAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _missed, 0) == 1)
            {
                return null;
            }

            var next = await _events.Reader.ReadAsync(cancellationToken);
            if (ReferenceEquals(next, ResyncMarker) || Interlocked.Exchange(ref _missed, 0) == 1)
            {
                return null;
            }

            return next;
        }

        private static readonly TaskEvent ResyncMarker = new() { Type = "resync" };
    }
}

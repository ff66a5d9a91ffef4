using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace AgentApi.Lanes;

/// <summary>
/// The waiting items of one priority level of a lane, oldest first. New items arrive in sequence
/// order and go to a concurrent queue, which schedulers append to without the lane's lock. An item
/// released from its session's queue is older than items behind it, so it goes to a small heap.
/// The oldest item is the older of the two heads. Everything but <see cref="Add"/>,
/// <see cref="HasArrivals"/>, <see cref="HoldsLockedItems"/> and <see cref="TryTakeArrival"/> runs
/// under the lane's lock. Runners take arrivals without the lock only while no item waits in the
/// head field or the heap, which only the lock may take from.
/// </summary>
internal sealed class LaneLevel
{
    private readonly ConcurrentQueue<LaneWorkItem> _arrivals = new();
    private readonly PriorityQueue<LaneWorkItem, long> _released = new();

    /// <summary>
    /// The first arrival, already taken out of the queue and not yet run. ConcurrentQueue.TryPeek
    /// stops the queue from reusing its storage, so the level dequeues the head into this field
    /// instead of peeking.
    /// </summary>
    private LaneWorkItem? _head;

    /// <summary>Items in <see cref="_released"/>, kept apart so that runners can read it without the lock.</summary>
    private int _releasedCount;

    /// <summary>
    /// Non-zero while a lock holder moves an arrival into <see cref="_head"/>. The arrival is then
    /// in neither place, and runners without the lock read this to see that it exists.
    /// </summary>
    private int _parking;

    /// <summary>Items in the level, removed ones included.</summary>
    public int Count => _arrivals.Count + (_head is null ? 0 : 1) + _released.Count;

    /// <summary>True when the queue of arrivals contains an item. Lock-free.</summary>
    public bool HasArrivals => !_arrivals.IsEmpty;

    /// <summary>
    /// True when an item waits where only the lane's lock may take it: in the head field, on its
    /// way there, or in the heap. Lock-free. Read it after the queue of arrivals, because an
    /// arrival on its way to the head field has left the queue.
    /// </summary>
    public bool HoldsLockedItems =>
        Volatile.Read(ref _parking) != 0 || Volatile.Read(ref _head) is not null || Volatile.Read(ref _releasedCount) != 0;

    /// <summary>Appends a new item. Lock-free, because schedulers call it without the lane's lock.</summary>
    public void Add(LaneWorkItem item) => _arrivals.Enqueue(item);

    /// <summary>Takes the first arrival, removed or not, without the lane's lock.</summary>
    public bool TryTakeArrival([NotNullWhen(true)] out LaneWorkItem? item) => _arrivals.TryDequeue(out item);

    public void AddReleased(LaneWorkItem item)
    {
        _released.Enqueue(item, item.Sequence);
        Volatile.Write(ref _releasedCount, _released.Count);
    }

    /// <summary>Returns the oldest waiting item without taking it, dropping removed items on the way.</summary>
    public LaneWorkItem? PeekOldest()
    {
        var first = PeekArrival();
        if (_released.Count == 0)
        {
            // In the usual case no item released from a session waits, so the oldest is the first arrival.
            return first;
        }

        while (_released.TryPeek(out var released, out _) && !released.IsWaiting)
        {
            DequeueReleased();
        }

        var second = _released.Count > 0 ? _released.Peek() : null;
        return (first, second) switch
        {
            (null, var only) => only,
            (var only, null) => only,
            var (a, b) => a.Sequence < b.Sequence ? a : b,
        };
    }

    /// <summary>Takes the item that <see cref="PeekOldest"/> returned.</summary>
    public void Take(LaneWorkItem item)
    {
        if (ReferenceEquals(_head, item))
        {
            _head = null;
        }
        else
        {
            DequeueReleased();
        }
    }

    /// <summary>Every item of the level, removed ones included, in no particular order.</summary>
    public IEnumerable<LaneWorkItem> Items
    {
        get
        {
            // Enumerating a ConcurrentQueue keeps its storage from being reused, which is why only
            // the long-wait log enumerates the items.
            var arrivals = _head is null ? _arrivals : _arrivals.Prepend(_head);
            return arrivals.Concat(_released.UnorderedItems.Select(entry => entry.Element));
        }
    }

    /// <summary>Empties the level and returns its items, removed ones included.</summary>
    public IEnumerable<LaneWorkItem> DrainAll()
    {
        if (_head is { } head)
        {
            _head = null;
            yield return head;
        }

        while (_arrivals.TryDequeue(out var arrival))
        {
            yield return arrival;
        }

        while (_released.TryDequeue(out var released, out _))
        {
            Volatile.Write(ref _releasedCount, _released.Count);
            yield return released;
        }
    }

    private void DequeueReleased()
    {
        _released.Dequeue();
        Volatile.Write(ref _releasedCount, _released.Count);
    }

    private LaneWorkItem? PeekArrival()
    {
        if (_head is { } head)
        {
            if (head.IsWaiting)
            {
                return head;
            }

            _head = null;
        }

        // Counted with a full fence before the dequeue. A runner that then finds the queue without
        // this arrival, or takes the arrival behind it, reads the count or the head field next.
        Interlocked.Increment(ref _parking);
        try
        {
            while (_arrivals.TryDequeue(out var arrival))
            {
                if (arrival.IsWaiting)
                {
                    Volatile.Write(ref _head, arrival);
                    return arrival;
                }
            }

            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _parking);
        }
    }
}

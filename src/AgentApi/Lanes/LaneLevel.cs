namespace AgentApi.Lanes;

/// <summary>
/// The waiting items of one priority level of a lane, oldest first. New items arrive in sequence
/// order and go to a plain queue. An item released from its session's queue is older than items
/// behind it, so it goes to a small heap. The oldest item is the older of the two heads.
/// </summary>
internal sealed class LaneLevel
{
    private readonly Queue<LaneWorkItem> _arrivals = new();
    private readonly PriorityQueue<LaneWorkItem, long> _released = new();

    public int Count => _arrivals.Count + _released.Count;

    public void Add(LaneWorkItem item) => _arrivals.Enqueue(item);

    public void AddReleased(LaneWorkItem item) => _released.Enqueue(item, item.Sequence);

    /// <summary>Returns the oldest waiting item without taking it, dropping removed items on the way.</summary>
    public LaneWorkItem? PeekOldest()
    {
        if (_released.Count == 0)
        {
            // In the usual case no item released from a session waits, so the oldest is the first arrival.
            while (_arrivals.TryPeek(out var oldest))
            {
                if (oldest.IsWaiting)
                {
                    return oldest;
                }

                _arrivals.Dequeue();
            }

            return null;
        }

        while (_arrivals.TryPeek(out var arrival) && !arrival.IsWaiting)
        {
            _arrivals.Dequeue();
        }

        while (_released.TryPeek(out var released, out _) && !released.IsWaiting)
        {
            _released.Dequeue();
        }

        var first = _arrivals.Count > 0 ? _arrivals.Peek() : null;
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
        if (_arrivals.Count > 0 && ReferenceEquals(_arrivals.Peek(), item))
        {
            _arrivals.Dequeue();
        }
        else
        {
            _released.Dequeue();
        }
    }

    /// <summary>Every item of the level, removed ones included, in no particular order.</summary>
    public IEnumerable<LaneWorkItem> Items => _arrivals.Concat(_released.UnorderedItems.Select(entry => entry.Element));

    /// <summary>Empties the level and returns its items, removed ones included.</summary>
    public IEnumerable<LaneWorkItem> DrainAll()
    {
        while (_arrivals.TryDequeue(out var arrival))
        {
            yield return arrival;
        }

        while (_released.TryDequeue(out var released, out _))
        {
            yield return released;
        }
    }
}

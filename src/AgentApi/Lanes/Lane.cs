using System.Runtime.InteropServices;

namespace AgentApi.Lanes;

/// <summary>
/// One lane's state. Waiting items are kept per priority level, oldest first. An item whose
/// session is busy waits in its session's queue instead, so that it cannot overtake earlier work
/// of the same session. Fields and properties are guarded by <see cref="Sync"/> unless their
/// comment states otherwise. Schedulers of items without a session key append to the levels and
/// update the counters in <see cref="LaneCounters"/> without taking the lock.
/// </summary>
internal sealed class Lane(string name, int limit)
{
    private const int RecentWaitCount = 512;

    public readonly Lock Sync = new();

    public readonly LaneLevel[] Ready = [new LaneLevel(), new LaneLevel(), new LaneLevel()];

    public readonly Dictionary<string, LaneSession> Sessions = new(StringComparer.Ordinal);

    /// <summary>The running items, as a list linked through the items themselves so that adding and removing allocate nothing.</summary>
    private LaneWorkItem? _firstRunning;

    private readonly double[] _recentWaitsMs = new double[RecentWaitCount];
    private int _recentWaitNext;
    private int _recentWaitCount;

    private LaneCounters _counters = new() { Limit = limit };

    public string Name { get; } = name;

    /// <summary>Items that may run at once. Read without the lock.</summary>
    public int Limit => Volatile.Read(ref _counters.Limit);

    /// <summary>Slots in use: runners that hold a slot, whether or not they have taken an item yet. Read without the lock.</summary>
    public int Slots => Volatile.Read(ref _counters.Slots);

    /// <summary>Items that started running, borrowed ones included, less those that then reported they did not start.</summary>
    public long Started { get; set; }

    /// <summary>
    /// Items waiting and not removed: those scheduled, less those that started or were removed.
    /// Removals and schedules are counted without the lock, so this is exact only when no
    /// Schedule call is under way.
    /// </summary>
    public int Waiting
    {
        get
        {
            // Read before the count of scheduled items, which only grows, so that the result is never negative.
            var removed = Volatile.Read(ref _counters.Removed);
            var started = Started;
            return (int)(Volatile.Read(ref _counters.Scheduled) - started - removed);
        }
    }

    public long Completed { get; set; }

    public long Failed { get; set; }

    public int RunningCount { get; private set; }

    /// <summary>Items that finished running and whose deferred outcome has not arrived yet.</summary>
    public int PendingOutcomes { get; set; }

    /// <summary>Sets the limit with a full fence. Callers also hold the lock, so that a snapshot reads one limit.</summary>
    public int ExchangeLimit(int limit) => Interlocked.Exchange(ref _counters.Limit, limit);

    /// <summary>Takes a slot when one is free. Lock-free, and a full fence.</summary>
    public bool TryReserveSlot()
    {
        var slots = Volatile.Read(ref _counters.Slots);
        while (slots < Volatile.Read(ref _counters.Limit))
        {
            var seen = Interlocked.CompareExchange(ref _counters.Slots, slots + 1, slots);
            if (seen == slots)
            {
                return true;
            }

            slots = seen;
        }

        return false;
    }

    /// <summary>Gives back a runner's slot. A full fence.</summary>
    public void ReleaseSlot() => Interlocked.Decrement(ref _counters.Slots);

    /// <summary>Counts a scheduled item and returns its sequence number, starting at 1. Lock-free.</summary>
    public long NextSequence() => Interlocked.Increment(ref _counters.Scheduled);

    /// <summary>Counts a scheduled item that left without starting. Lock-free.</summary>
    public void CountRemoved() => Interlocked.Increment(ref _counters.Removed);

    /// <summary>True when a level's queue of arrivals contains an item, removed ones included. Lock-free.</summary>
    public bool HasArrivals()
    {
        foreach (var level in Ready)
        {
            if (level.HasArrivals)
            {
                return true;
            }
        }

        return false;
    }

    public void AddRunning(LaneWorkItem item)
    {
        item.NextRunning = _firstRunning;
        item.PreviousRunning = null;
        if (_firstRunning is not null)
        {
            _firstRunning.PreviousRunning = item;
        }

        _firstRunning = item;
        item.IsRunningIn = this;
        RunningCount++;
    }

    public void RemoveRunning(LaneWorkItem item)
    {
        if (item.PreviousRunning is null)
        {
            _firstRunning = item.NextRunning;
        }
        else
        {
            item.PreviousRunning.NextRunning = item.NextRunning;
        }

        if (item.NextRunning is not null)
        {
            item.NextRunning.PreviousRunning = item.PreviousRunning;
        }

        item.NextRunning = null;
        item.PreviousRunning = null;
        item.IsRunningIn = null;
        RunningCount--;
    }

    public IEnumerable<LaneWorkItem> RunningItems()
    {
        for (var item = _firstRunning; item is not null; item = item.NextRunning)
        {
            yield return item;
        }
    }

    public void RecordWait(double waitMs)
    {
        _recentWaitsMs[_recentWaitNext] = waitMs;
        if (++_recentWaitNext == RecentWaitCount)
        {
            _recentWaitNext = 0;
        }

        if (_recentWaitCount < RecentWaitCount)
        {
            _recentWaitCount++;
        }
    }

    public (double P50, double P95) WaitPercentiles()
    {
        if (_recentWaitCount == 0)
        {
            return (0, 0);
        }

        var sorted = _recentWaitsMs.AsSpan(0, _recentWaitCount).ToArray();
        Array.Sort(sorted);
        return (Percentile(sorted, 0.50), Percentile(sorted, 0.95));
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
}

/// <summary>
/// The counters that schedulers use without the lane's lock, each group on a cache line of its
/// own. Every Schedule call writes the scheduled count. It also reads the slots and the limit,
/// which change only when a runner starts or stops or the limit changes. The lock's holders write
/// other lines for every item, and sharing one of those would move it between cores every item.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * CacheLineSize)]
internal struct LaneCounters
{
    /// <summary>128 bytes rather than one 64-byte line, because processors may prefetch lines in adjacent pairs.</summary>
    private const int CacheLineSize = 128;

    /// <summary>Items scheduled so far, which is also the last sequence number handed out.</summary>
    [FieldOffset(CacheLineSize)]
    public long Scheduled;

    [FieldOffset(2 * CacheLineSize)]
    public int Slots;

    [FieldOffset(2 * CacheLineSize + 4)]
    public int Limit;

    /// <summary>Items that were counted as scheduled and left without starting.</summary>
    [FieldOffset(2 * CacheLineSize + 8)]
    public long Removed;
}

/// <summary>The work of one session key in one lane: at most one item ready or running, the rest pending in order.</summary>
internal sealed class LaneSession
{
    /// <summary>True while an item of the session is in the ready heaps or running.</summary>
    public bool Busy { get; set; }

    public Queue<LaneWorkItem> Pending { get; } = new();
}

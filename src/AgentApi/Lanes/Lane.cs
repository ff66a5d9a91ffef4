using System.Runtime.InteropServices;

namespace AgentApi.Lanes;

/// <summary>
/// One lane's state. Waiting items are kept per priority level, oldest first. An item whose
/// session is busy waits in its session's queue instead, so that it cannot overtake earlier work
/// of the same session. Fields and properties are guarded by <see cref="Sync"/> unless their
/// comment states otherwise. Schedulers of items without a session key append to the levels and
/// update the counters in <see cref="LaneCounters"/> without taking the lock. Runners take plain
/// items and count them in their own <see cref="LaneRunner"/> without the lock, and the counts
/// and running items read here add up the registered runners.
/// </summary>
internal sealed class Lane(string name, int limit)
{
    private const int RecentWaitCount = 512;

    public readonly Lock Sync = new();

    public readonly LaneLevel[] Ready = [new LaneLevel(), new LaneLevel(), new LaneLevel()];

    public readonly Dictionary<string, LaneSession> Sessions = new(StringComparer.Ordinal);

    /// <summary>
    /// The runners of running items, as a list linked through the runners: the runner loops that
    /// hold a slot, and one runner for each borrowed item, which runs on its holder's slot.
    /// </summary>
    private LaneRunner? _firstRunner;
    private int _runnerCount;

    /// <summary>Counts of runners that left and of deferred outcomes and items that did not start. The registered runners keep the rest.</summary>
    private long _started;
    private long _completed;
    private long _failed;

    private readonly double[] _recentWaitsMs = new double[RecentWaitCount];
    private int _recentWaitNext;
    private int _recentWaitCount;

    private LaneCounters _counters = new() { Limit = limit };

    public string Name { get; } = name;

    /// <summary>Items that may run at once. Read without the lock.</summary>
    public int Limit => Volatile.Read(ref _counters.Limit);

    /// <summary>Slots in use: runners that hold a slot, whether or not they have taken an item yet. Read without the lock.</summary>
    public int Slots => Volatile.Read(ref _counters.Slots);

    /// <summary>Items that started running, borrowed ones included, less those that then reported they did not start. Under the lock.</summary>
    public long Started => Totals().Started;

    /// <summary>
    /// Items waiting and not removed: those scheduled, less those that started or were removed.
    /// Removals, schedules and runners' starts are counted without the lock, so this is exact only
    /// when no Schedule call or take is under way. Under the lock.
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

    /// <summary>Items that finished and succeeded. Under the lock.</summary>
    public long Completed => Totals().Completed;

    /// <summary>Items that finished and failed. Under the lock.</summary>
    public long Failed => Totals().Failed;

    /// <summary>Items that run now, borrowed ones included. Under the lock.</summary>
    public int RunningCount
    {
        get
        {
            var running = 0;
            for (var runner = _firstRunner; runner is not null; runner = runner.Next)
            {
                if (runner.Current is not null)
                {
                    running++;
                }
            }

            return running;
        }
    }

    /// <summary>
    /// Registered runners. A runner stays registered from its first take under the lock until it
    /// leaves under the lock, and a runner loop takes nothing once it has seen the dispatcher
    /// stopping there. So shutdown, which waits until this is 0, also waits for takes without the
    /// lock that began before the runner saw the stop. Under the lock.
    /// </summary>
    public int UnfinishedCount => _runnerCount;

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

    /// <summary>
    /// True when a level's queue of arrivals contains an item, or an item waits where only the
    /// lock may take it, removed ones included. Lock-free. A lock holder such as a snapshot may
    /// move a new arrival into its level's head field, so the queue alone can look empty.
    /// </summary>
    public bool MayHaveReadyItems()
    {
        foreach (var level in Ready)
        {
            if (level.HasArrivals || level.HoldsLockedItems)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Adds the counts of the registered runners to the lane's own. Under the lock.</summary>
    private (long Started, long Completed, long Failed) Totals()
    {
        var (started, completed, failed) = (_started, _completed, _failed);
        for (var runner = _firstRunner; runner is not null; runner = runner.Next)
        {
            started += runner.Started;
            completed += runner.Completed;
            failed += runner.Failed;
        }

        return (started, completed, failed);
    }

    /// <summary>Uncounts an item that reported it did not start. Under the lock.</summary>
    public void UncountStarted() => _started--;

    /// <summary>Counts a deferred outcome. Under the lock.</summary>
    public void CountFinished(bool succeeded)
    {
        if (succeeded)
        {
            _completed++;
        }
        else
        {
            _failed++;
        }
    }

    /// <summary>Adds a runner to the list that counts and running items are read from. Under the lock.</summary>
    public void Register(LaneRunner runner)
    {
        runner.Next = _firstRunner;
        runner.Previous = null;
        if (_firstRunner is not null)
        {
            _firstRunner.Previous = runner;
        }

        _firstRunner = runner;
        _runnerCount++;
        runner.Registered = true;
    }

    /// <summary>Takes a runner out of the list and keeps what it counted and the wait times it buffered. Under the lock.</summary>
    public void Unregister(LaneRunner runner)
    {
        if (runner.Previous is null)
        {
            _firstRunner = runner.Next;
        }
        else
        {
            runner.Previous.Next = runner.Next;
        }

        if (runner.Next is not null)
        {
            runner.Next.Previous = runner.Previous;
        }

        runner.Next = null;
        runner.Previous = null;
        runner.Registered = false;
        _runnerCount--;
        runner.FlushWaits(this);
        var (started, completed, failed) = runner.TakeCounts();
        _started += started;
        _completed += completed;
        _failed += failed;
    }

    /// <summary>
    /// True when the item runs in this lane now. Under the lock. It walks the runners, which only
    /// the rare nested schedule pays for, so that runners write nothing to an item to mark it
    /// running here.
    /// </summary>
    public bool IsRunning(LaneWorkItem item)
    {
        foreach (var running in RunningItems())
        {
            if (ReferenceEquals(running, item))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The items that run now, borrowed ones included. Under the lock.</summary>
    public IEnumerable<LaneWorkItem> RunningItems()
    {
        for (var runner = _firstRunner; runner is not null; runner = runner.Next)
        {
            if (runner.Current is { } item)
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// The one level that a runner may take from without the lock: the only level with arrivals,
    /// when no level holds an item that only the lock may take. Otherwise null. Lock-free, and a
    /// hint only: an item may arrive in another level meanwhile.
    /// </summary>
    public LaneLevel? SoleLevelWithArrivals()
    {
        LaneLevel? sole = null;
        foreach (var level in Ready)
        {
            // The queue first: an arrival that a lock holder moves to the head field meanwhile is then seen as held.
            var hasArrivals = level.HasArrivals;
            if (level.HoldsLockedItems)
            {
                return null;
            }

            if (hasArrivals)
            {
                if (sole is not null)
                {
                    return null;
                }

                sole = level;
            }
        }

        return sole;
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

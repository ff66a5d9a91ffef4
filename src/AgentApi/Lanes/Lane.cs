namespace AgentApi.Lanes;

/// <summary>
/// One lane's state. Every field is guarded by <see cref="Sync"/>. Waiting items are kept per
/// priority level, oldest first. An item whose session is busy waits in its session's queue
/// instead, so that it cannot overtake earlier work of the same session.
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

    public string Name { get; } = name;

    public int Limit { get; set; } = limit;

    /// <summary>Slots in use: runners that hold a slot, whether or not they have taken an item yet.</summary>
    public int Slots { get; set; }

    /// <summary>Items waiting and not removed.</summary>
    public int Waiting { get; set; }

    public long NextSequence { get; set; }

    public long Completed { get; set; }

    public long Failed { get; set; }

    public int RunningCount { get; private set; }

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

/// <summary>The work of one session key in one lane: at most one item ready or running, the rest pending in order.</summary>
internal sealed class LaneSession
{
    /// <summary>True while an item of the session is in the ready heaps or running.</summary>
    public bool Busy { get; set; }

    public Queue<LaneWorkItem> Pending { get; } = new();
}

using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AgentApi.Lanes;

/// <summary>
/// Decides when work may start. Each lane runs at most its limit of items at once. Inside a lane
/// higher priority is taken first and equal priority first in first out, and work that has waited
/// an ageing interval moves up a level. Items with the same session key run one at a time in the
/// order they were scheduled. Lanes never wait for each other, and the dispatcher holds no thread
/// while work waits.
/// </summary>
/// <remarks>
/// Each lane keeps up to its limit of runner loops; a runner takes the next item, runs it, and
/// takes the one after, so work that completes synchronously costs no thread hop.
/// </remarks>
public sealed partial class LaneDispatcher : IAsyncDisposable
{
    private static readonly TimeSpan WaitCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long cancelled work may take to wind down once the grace period is over.</summary>
    private static readonly TimeSpan CancelledWorkTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The start of a run that was not timed, because no metrics listener collected run times.</summary>
    private const long NotTimed = long.MinValue;

    private readonly FrozenDictionary<string, Lane> _lanes;
    private readonly TimeProvider _timeProvider;
    private readonly LaneDispatcherOptions _options;
    private readonly ILogger _logger;
    private readonly LaneMetrics? _metrics;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer _waitCheck;

    /// <summary>The shutdown token, read once because the runners pass it to every item they run.</summary>
    private readonly CancellationToken _shutdownToken;

    /// <summary>Dates waiting work. Run times, which only metrics listeners read, use the time provider's timestamps.</summary>
    private readonly LaneClock _clock;

    /// <summary>The ageing interval in milliseconds, or 0 when ageing is off.</summary>
    private readonly long _ageingMilliseconds;

    private readonly double _timestampTicksPerMillisecond;
    private volatile bool _stopping;

    public LaneDispatcher(
        IReadOnlyDictionary<string, int> laneLimits,
        LaneDispatcherOptions options,
        TimeProvider timeProvider,
        ILogger<LaneDispatcher> logger,
        LaneMetrics? metrics = null)
    {
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _shutdownToken = _shutdown.Token;
        _timestampTicksPerMillisecond = timeProvider.TimestampFrequency / 1000.0;
        _clock = new LaneClock(timeProvider);
        _ageingMilliseconds = options.AgeingInterval <= TimeSpan.Zero
            ? 0
            : (long)Math.Min(long.MaxValue, Math.Ceiling(options.AgeingInterval.TotalMilliseconds));
        _lanes = laneLimits.ToFrozenDictionary(pair => pair.Key, pair => new Lane(pair.Key, pair.Value), StringComparer.Ordinal);
        _waitCheck = timeProvider.CreateTimer(static state => ((LaneDispatcher)state!).LogLongWaits(), this, WaitCheckInterval, WaitCheckInterval);
        _metrics?.Observe(this);
    }

    /// <summary>Raised after a lane's limit changes, with the lane's new state.</summary>
    public event Action<LaneSnapshot>? LimitChanged;

    public IEnumerable<string> LaneNames => _lanes.Keys.Order(StringComparer.Ordinal);

    public bool HasLane(string lane) => _lanes.ContainsKey(lane);

    /// <summary>
    /// Puts the item in its lane. Returns false when the dispatcher is stopping, in which case the
    /// item was not taken and its callbacks are never called.
    /// </summary>
    public bool Schedule(LaneWorkItem item) => Schedule(item, holder: null);

    /// <summary>
    /// Puts the item in its lane. When <paramref name="holder"/> runs in the same lane, the item
    /// runs at once on the holder's slot instead of queueing behind it, so a full lane cannot
    /// deadlock on nested work that the holder waits for. The caller promises that the holder
    /// waits; otherwise the lane runs one item over its limit while both run.
    /// </summary>
    public bool Schedule(LaneWorkItem item, LaneWorkItem? holder)
    {
        var lane = GetLane(item.Lane);
        var duringGrace = MayRunDuringGrace(item, holder);
        if (_stopping && !duringGrace)
        {
            return false;
        }

        return item.SessionKey is null && (holder is null || holder.Lane != item.Lane) && !duringGrace
            ? ScheduleWithoutLock(lane, item)
            : ScheduleLocked(lane, item, holder);
    }

    /// <summary>
    /// Returns whether the item may start while the dispatcher stops, because its running holder
    /// waits for it. Only until the grace period ends or every item has finished, so that nothing
    /// starts after StopAsync returns.
    /// </summary>
    private bool MayRunDuringGrace(LaneWorkItem item, LaneWorkItem? holder) =>
        item.RunsDuringGrace && holder is { IsStarted: true } && !_shutdown.IsCancellationRequested && !_drained.Task.IsCompleted;

    /// <summary>
    /// Schedules an item that has no session key and no holder in its lane without the lane's
    /// lock. The item is counted, dated and appended to its level's queue, and a runner is started
    /// only when the lane has a free slot.
    /// </summary>
    private bool ScheduleWithoutLock(Lane lane, LaneWorkItem item)
    {
        // An item that ran or left before is ignored, as under the lock, and not counted.
        if (!item.IsWaiting)
        {
            return true;
        }

        // Counted and dated before the cancellation callback exists, so that Remove always finds the item counted.
        item.EnqueuedAtMs = _clock.NowMilliseconds;
        item.Sequence = lane.NextSequence();
        RegisterCancellation(lane, item);
        if (!item.IsWaiting)
        {
            // The token had fired already, and the callback has removed the item.
            return true;
        }

        lane.Ready[(int)item.Priority].Add(item);

        // The enqueue above is a full fence, and StopAsync sets _stopping before it drains the
        // queues under the lock, so either this read finds the flag set or the drain finds the item.
        if (_stopping && item.TryMarkRemoved())
        {
            lane.CountRemoved();
            item.CancellationRegistration.Dispose();
            return false;
        }

        // Read after the enqueue. A runner gives back its slot before it looks at the queues
        // again, so either this call finds the free slot or that runner finds the item.
        if (lane.TryReserveSlot())
        {
            StartRunner(lane);
        }

        return true;
    }

    private bool ScheduleLocked(Lane lane, LaneWorkItem item, LaneWorkItem? holder)
    {
        RegisterCancellation(lane, item);

        // Read before the lock, so that the lock is held as briefly as possible.
        var scheduledAt = _clock.NowMilliseconds;
        bool startRunner;
        lock (lane.Sync)
        {
            // A token that fired already has removed the item and called its callback, which
            // is reported as taken even when stopping began meanwhile.
            if (!item.IsWaiting)
            {
                return true;
            }

            var stopping = _stopping;
            if (stopping && !MayRunDuringGrace(item, holder) && item.TryMarkRemoved())
            {
                item.CancellationRegistration.Dispose();
                return false;
            }

            item.Sequence = lane.NextSequence();
            item.EnqueuedAtMs = scheduledAt;

            // While stopping, the drain has passed, so an item that may run during the grace
            // period starts now or not at all. It fails to start only when its token removed it.
            if (stopping || (holder is not null && holder.Lane == item.Lane && lane.IsRunning(holder)))
            {
                if (item.TryMarkRunning())
                {
                    StartBorrowedLocked(lane, item);
                }

                return true;
            }

            startRunner = Enqueue(lane, item) && lane.TryReserveSlot();
        }

        if (startRunner)
        {
            StartRunner(lane);
        }

        return true;
    }

    /// <summary>Starts an item already marked running on a runner of its own, outside the lane's slots. Under the lock.</summary>
    private void StartBorrowedLocked(Lane lane, LaneWorkItem item)
    {
        item.Borrowed = true;
        var runner = new LaneRunner();
        lane.Register(runner);
        runner.SetCurrent(item);
        runner.CountStarted();
        _ = RunBorrowedAsync(lane, runner, item);
    }

    private void RegisterCancellation(Lane lane, LaneWorkItem item)
    {
        if (!item.CancellationToken.CanBeCanceled)
        {
            return;
        }

        // A token that has already fired removes the item right here.
        item.CancellationRegistration = item.CancellationToken.UnsafeRegister(
            static state =>
            {
                var (dispatcher, lane, item) = ((LaneDispatcher, Lane, LaneWorkItem))state!;
                dispatcher.Remove(lane, item, LaneRemovalReason.Cancelled);
            },
            (this, lane, item));
    }

    /// <summary>Changes a lane's limit at once. Returns false when the lane is not declared.</summary>
    public bool TrySetLimit(string laneName, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (!_lanes.TryGetValue(laneName, out var lane))
        {
            return false;
        }

        int oldLimit;
        var runnersToStart = 0;
        lock (lane.Sync)
        {
            // The exchange is a full fence. A scheduler that read the old limit after its enqueue
            // started no runner, so its item is counted below.
            oldLimit = lane.ExchangeLimit(limit);
            var ready = lane.Ready.Sum(level => level.Count);
            while (ready-- > 0 && lane.TryReserveSlot())
            {
                runnersToStart++;
            }
        }

        for (var i = 0; i < runnersToStart; i++)
        {
            StartRunner(lane);
        }

        LaneLog.LimitChanged(_logger, laneName, oldLimit, limit);
        if (GetSnapshot(laneName) is { } snapshot)
        {
            LimitChanged?.Invoke(snapshot);
        }

        return true;
    }

    public LaneSnapshot? GetSnapshot(string laneName) =>
        _lanes.TryGetValue(laneName, out var lane) ? Snapshot(lane) : null;

    public IReadOnlyList<LaneSnapshot> GetSnapshots() =>
        _lanes.Values.OrderBy(lane => lane.Name, StringComparer.Ordinal).Select(Snapshot).ToList();

    /// <summary>
    /// Stops taking work, hands every waiting item back through
    /// <see cref="LaneWorkItem.OnRemoved"/> with <see cref="LaneRemovalReason.Shutdown"/>, and waits
    /// for running work and pending deferred outcomes for the grace period. Then it cancels the
    /// shutdown token and waits at most <see cref="CancelledWorkTimeout"/> more. An outcome that
    /// arrives later is still counted.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        List<LaneWorkItem> handedBack = [];
        var running = 0;
        var pending = 0;
        _stopping = true;

        foreach (var lane in _lanes.Values)
        {
            lock (lane.Sync)
            {
                handedBack.AddRange(DrainWaiting(lane));
                running += lane.UnfinishedCount;
                pending += lane.PendingOutcomes;
            }
        }

        LaneLog.Stopping(_logger, handedBack.Count, running, pending, (long)_options.ShutdownGracePeriod.TotalMilliseconds);
        foreach (var item in handedBack)
        {
            NotifyRemoved(item, LaneRemovalReason.Shutdown);
        }

        SignalIfDrained();

        try
        {
            await _drained.Task.WaitAsync(_options.ShutdownGracePeriod, _timeProvider, cancellationToken);
            return;
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            // The grace period ended, or the host's own shutdown timeout did first.
            var (stillRunning, stillPending) = CountUnfinished();
            LaneLog.GraceExpired(_logger, stillRunning, stillPending);
        }

        // Not awaited: the token is cancelled at once, but its callbacks run on a pool thread. One of
        // them can be Npgsql's cancel request for a running item's query, which waits up to its
        // connect timeout against a hung server, and the stop must not wait for that.
        _ = _shutdown.CancelAsync();

        // Cancelled work records its outcome before it returns; that is bounded, not awaited forever.
        await _drained.Task.WaitAsync(CancelledWorkTimeout, _timeProvider).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await _waitCheck.DisposeAsync();
        _shutdown.Dispose();
    }

    private Lane GetLane(string name) =>
        _lanes.TryGetValue(name, out var lane)
            ? lane
            : throw new ArgumentException($"Lane '{name}' is not declared; declared lanes: {string.Join(", ", LaneNames)}.", nameof(name));

    /// <summary>Adds a waiting item to the ready heaps, or to its session's queue; returns whether it is ready.</summary>
    private static bool Enqueue(Lane lane, LaneWorkItem item)
    {
        if (item.SessionKey is { } key)
        {
            ref var session = ref CollectionsMarshal.GetValueRefOrAddDefault(lane.Sessions, key, out _);
            session ??= new LaneSession();
            if (session.Busy)
            {
                item.InSessionPending = true;
                session.Pending.Enqueue(item);
                return false;
            }

            session.Busy = true;
        }

        lane.Ready[(int)item.Priority].Add(item);
        return true;
    }

    private void StartRunner(Lane lane) =>
        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = state.Dispatcher.RunAsync(state.Lane),
            (Dispatcher: this, Lane: lane),
            preferLocal: false);

    /// <summary>A runner loop, which owns one of the lane's slots and runs items until none is ready.</summary>
    private async Task RunAsync(Lane lane)
    {
        var runner = new LaneRunner();
        var item = TakeNextOrExit(lane, runner, finished: null, succeeded: false, _clock.NowMilliseconds);
        if (item is null)
        {
            return;
        }

        var startedAt = StartRunTimer();
        while (true)
        {
            bool succeeded;
            try
            {
                succeeded = await item.ExecuteAsync(_shutdownToken);
            }
            catch (Exception exception)
            {
                LaneLog.WorkFailed(_logger, item.Id, lane.Name, exception);
                succeeded = false;
            }

            item.CancellationRegistration.Dispose();

            LaneWorkItem? next;
            var nowMs = _clock.NowMilliseconds;
            if (TryReleaseUncounted(lane, runner, item, startedAt, out var finishedAt))
            {
                next = TakeFollowing(lane, runner, nowMs);
            }
            else if (item.SessionKey is null)
            {
                finishedAt = RecordFinished(lane, startedAt, succeeded);

                // Taken out of the runner before it is counted, so that no reader counts it both running and finished.
                runner.SetCurrent(null);
                runner.CountFinished(succeeded);
                next = TakeFollowing(lane, runner, nowMs);
            }
            else
            {
                finishedAt = RecordFinished(lane, startedAt, succeeded);

                // An item with a session key frees its session under the same lock that takes the next one.
                next = TakeNextOrExit(lane, runner, item, succeeded, nowMs);
            }

            SignalIfDrained();
            if (next is null)
            {
                return;
            }

            item = next;

            // One timestamp ends this item's run time and starts the next one's.
            startedAt = finishedAt == NotTimed ? StartRunTimer() : finishedAt;
        }
    }

    /// <summary>
    /// Takes the next item for a runner that runs no item: without the lane's lock when it can,
    /// under it otherwise. Returns null once the runner has given back its slot.
    /// </summary>
    private LaneWorkItem? TakeFollowing(Lane lane, LaneRunner runner, long nowMs) =>
        TakeWithoutLock(lane, runner, nowMs) ?? TakeNextOrExit(lane, runner, finished: null, succeeded: false, nowMs);

    /// <summary>
    /// Takes the next item for a runner that runs no item, without the lane's lock. Only a plain
    /// case goes without the lock: the lane's limit still allows the runner's slot, the dispatcher
    /// is not stopping, and exactly one level has arrivals and nothing that only the lock may take.
    /// Returns null otherwise, and when that level turns out empty.
    /// </summary>
    private LaneWorkItem? TakeWithoutLock(Lane lane, LaneRunner runner, long nowMs)
    {
        // A stop that this read misses waits for the runner anyway, because StopAsync waits for
        // every registered runner to leave, and a runner leaves only under the lock.
        if (_stopping || lane.Slots > lane.Limit || lane.SoleLevelWithArrivals() is not { } level)
        {
            return null;
        }

        LaneWorkItem? item;
        do
        {
            if (!level.TryTakeArrival(out item))
            {
                return null;
            }

            // A lock holder may have moved an older arrival to the head field after the look
            // above, and this item must not start before it. The heap orders it by sequence.
            // The limit may also have been lowered since the first read. The take was a full
            // fence, so this read returns the new limit of any change that finished before the
            // item left the queue.
            if (level.HoldsLockedItems || lane.Slots > lane.Limit)
            {
                GiveBackArrival(lane, level, item);
                return null;
            }
        }
        while (!item.TryMarkRunning());

        runner.SetCurrent(item);
        runner.CountStarted();

        // A scheduler may date an item after the runner read the clock.
        double waitMs = Math.Max(0, nowMs - item.EnqueuedAtMs);
        _metrics?.RecordWait(lane.Name, waitMs);
        if (runner.BufferWait(waitMs))
        {
            lock (lane.Sync)
            {
                runner.FlushWaits(lane);
            }
        }

        return item;
    }

    /// <summary>
    /// Puts back an arrival that a runner took without the lock but may not start yet, into the
    /// level's heap, where the lock orders it by sequence. Once the dispatcher is stopping, the
    /// drain may have passed already, so the item is handed back as a shutdown removal instead.
    /// </summary>
    private void GiveBackArrival(Lane lane, LaneLevel level, LaneWorkItem item)
    {
        var removed = false;
        lock (lane.Sync)
        {
            if (_stopping)
            {
                removed = item.TryMarkRemoved();
                if (removed)
                {
                    lane.CountRemoved();
                }
            }
            else if (item.IsWaiting)
            {
                level.AddReleased(item);
            }
        }

        if (removed)
        {
            NotifyRemoved(item, LaneRemovalReason.Shutdown);
        }
    }

    /// <summary>
    /// Records the item that finished, if any, and takes the next item for a runner under one
    /// lock. Returns null once the runner has given back its slot and left the lane's runners.
    /// </summary>
    private LaneWorkItem? TakeNextOrExit(Lane lane, LaneRunner runner, LaneWorkItem? finished, bool succeeded, long nowMs)
    {
        while (true)
        {
            LaneWorkItem? next;
            lock (lane.Sync)
            {
                if (!runner.Registered)
                {
                    lane.Register(runner);
                }

                if (finished is not null)
                {
                    ReleaseLocked(lane, runner, finished);
                    runner.CountFinished(succeeded);
                    finished = null;
                }

                runner.FlushWaits(lane);
                next = TakeNextOrFreeSlot(lane, runner, nowMs);
                if (next is null)
                {
                    lane.Unregister(runner);
                }
            }

            if (next is not null)
            {
                return next;
            }

            // The slot was given back with a full fence. A scheduler that appended an item after
            // the look above and read the slots before the release started no runner, so look
            // again, and take the slot back if an item arrived.
            if (_stopping || !lane.MayHaveReadyItems() || !lane.TryReserveSlot())
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Takes the next item for a runner, or gives back the runner's slot and returns null. A taken
    /// item is counted as running under the lock, so StopAsync cannot read zero while an item is
    /// about to run. Under the lane's lock, so that Remove, which may make a session's item ready,
    /// finds the slot given back.
    /// </summary>
    private LaneWorkItem? TakeNextOrFreeSlot(Lane lane, LaneRunner runner, long nowMs)
    {
        var item = lane.Slots > lane.Limit || _stopping ? null : TakeNext(lane, runner, nowMs);
        if (item is null)
        {
            lane.ReleaseSlot();
        }

        return item;
    }

    /// <summary>
    /// Returns the time provider's timestamp when a metrics listener collects run times, and
    /// <see cref="NotTimed"/> otherwise, so that the precise clock is read only when someone
    /// listens.
    /// </summary>
    private long StartRunTimer() => _metrics is { IsRunTimeEnabled: true } ? _timeProvider.GetTimestamp() : NotTimed;

    /// <summary>
    /// Counts a finished item in the metrics and records its run time when it was timed and
    /// run times are still collected. Returns the timestamp that ended the run, or
    /// <see cref="NotTimed"/>.
    /// </summary>
    private long RecordFinished(Lane lane, long startedAt, bool succeeded)
    {
        if (_metrics is not { } metrics)
        {
            return NotTimed;
        }

        if (startedAt == NotTimed || !metrics.IsRunTimeEnabled)
        {
            metrics.CountFinished(lane.Name, succeeded);
            return NotTimed;
        }

        var finishedAt = _timeProvider.GetTimestamp();
        metrics.RecordRun(lane.Name, (finishedAt - startedAt) / _timestampTicksPerMillisecond, succeeded);
        return finishedAt;
    }

    /// <summary>
    /// Records the run time of an item whose outcome is deferred, when it was timed and run times
    /// are still collected, without counting it. Returns the timestamp that ended the run, or
    /// <see cref="NotTimed"/>.
    /// </summary>
    private long RecordRunTime(Lane lane, long startedAt)
    {
        if (startedAt == NotTimed || _metrics is not { IsRunTimeEnabled: true } metrics)
        {
            return NotTimed;
        }

        var finishedAt = _timeProvider.GetTimestamp();
        metrics.RecordRunTime(lane.Name, (finishedAt - startedAt) / _timestampTicksPerMillisecond);
        return finishedAt;
    }

    /// <summary>
    /// Takes an item whose outcome is deferred out of the running items and frees its session,
    /// records its run time, and counts it once its outcome arrives. Returns the timestamp that
    /// ended the run, or <see cref="NotTimed"/>.
    /// </summary>
    private long ReleaseDeferred(Lane lane, LaneRunner runner, LaneWorkItem item, Task<bool> outcome, long startedAt)
    {
        lock (lane.Sync)
        {
            ReleaseLocked(lane, runner, item);
            lane.PendingOutcomes++;
        }

        var finishedAt = RecordRunTime(lane, startedAt);
        _ = CountOutcomeAsync(lane, item, outcome);
        return finishedAt;
    }

    /// <summary>
    /// Takes an item that reported it did not start out of the running items and frees its
    /// session. It is counted as removed instead of started, which leaves Waiting unchanged.
    /// </summary>
    private static void ReleaseNotStarted(Lane lane, LaneRunner runner, LaneWorkItem item)
    {
        lock (lane.Sync)
        {
            ReleaseLocked(lane, runner, item);
            lane.UncountStarted();
            lane.CountRemoved();
        }
    }

    /// <summary>
    /// Counts an item as completed or failed once its deferred outcome arrives. A faulted or
    /// cancelled outcome counts as failed. An outcome that arrives after StopAsync returned is
    /// still counted.
    /// </summary>
    private async Task CountOutcomeAsync(Lane lane, LaneWorkItem item, Task<bool> outcome)
    {
        bool succeeded;
        try
        {
            succeeded = await outcome.ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            LaneLog.OutcomeFailed(_logger, item.Id, lane.Name, exception);
            succeeded = false;
        }

        _metrics?.CountFinished(lane.Name, succeeded);
        lock (lane.Sync)
        {
            lane.PendingOutcomes--;
            lane.CountFinished(succeeded);
        }

        SignalIfDrained();
    }

    /// <summary>Runs a borrowed item on a runner of its own, which takes no slot and leaves the lane when the item ends.</summary>
    private async Task RunBorrowedAsync(Lane lane, LaneRunner runner, LaneWorkItem item)
    {
        // Off the scheduling thread, which holds the lane's lock.
        await Task.Yield();
        var startedAt = StartRunTimer();
        var succeeded = await ExecuteItemAsync(lane, item);
        var counted = !TryReleaseUncounted(lane, runner, item, startedAt, out _);
        if (counted)
        {
            RecordFinished(lane, startedAt, succeeded);
        }

        lock (lane.Sync)
        {
            if (counted)
            {
                ReleaseLocked(lane, runner, item);
                runner.CountFinished(succeeded);
            }

            lane.Unregister(runner);
        }

        SignalIfDrained();
    }

    /// <summary>
    /// Releases an item that reported it did not start, or that deferred its outcome, and returns
    /// true. Returns false for any other item, which the caller records and counts.
    /// <paramref name="finishedAt"/> is the timestamp that ended the run, or <see cref="NotTimed"/>.
    /// </summary>
    private bool TryReleaseUncounted(Lane lane, LaneRunner runner, LaneWorkItem item, long startedAt, out long finishedAt)
    {
        if (item.DidNotStart)
        {
            ReleaseNotStarted(lane, runner, item);
            finishedAt = NotTimed;
            return true;
        }

        if (item.DeferredOutcome is { } outcome)
        {
            finishedAt = ReleaseDeferred(lane, runner, item, outcome, startedAt);
            return true;
        }

        finishedAt = NotTimed;
        return false;
    }

    private async ValueTask<bool> ExecuteItemAsync(Lane lane, LaneWorkItem item)
    {
        bool succeeded;
        try
        {
            succeeded = await item.ExecuteAsync(_shutdownToken);
        }
        catch (Exception exception)
        {
            LaneLog.WorkFailed(_logger, item.Id, lane.Name, exception);
            succeeded = false;
        }

        item.CancellationRegistration.Dispose();
        return succeeded;
    }

    /// <summary>Takes a finished item out of its runner and frees its session. Under the lane's lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReleaseLocked(Lane lane, LaneRunner runner, LaneWorkItem item)
    {
        runner.SetCurrent(null);
        if (item.SessionKey is { } key && !item.Borrowed)
        {
            ReleaseSession(lane, key);
        }
    }

    private void SignalIfDrained()
    {
        if (_stopping && CountUnfinished() is (0, 0))
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Counts the running items and the deferred outcomes still pending, across all lanes.</summary>
    private (int Running, int PendingOutcomes) CountUnfinished()
    {
        var running = 0;
        var pending = 0;
        foreach (var lane in _lanes.Values)
        {
            lock (lane.Sync)
            {
                running += lane.UnfinishedCount;
                pending += lane.PendingOutcomes;
            }
        }

        return (running, pending);
    }

    /// <summary>Takes the next item to run, or null. Called under the lane's lock.</summary>
    private LaneWorkItem? TakeNext(Lane lane, LaneRunner runner, long nowMs)
    {
        LaneLevel? bestLevel = null;
        LaneWorkItem? best = null;
        var bestEffectiveLevel = int.MaxValue;

        for (var level = 0; level < lane.Ready.Length; level++)
        {
            var head = lane.Ready[level].PeekOldest();
            if (head is null)
            {
                continue;
            }

            var effectiveLevel = EffectiveLevel(level, head, nowMs);
            if (effectiveLevel < bestEffectiveLevel || (effectiveLevel == bestEffectiveLevel && head.Sequence < best!.Sequence))
            {
                best = head;
                bestLevel = lane.Ready[level];
                bestEffectiveLevel = effectiveLevel;
            }
        }

        if (best is null || !best.TryMarkRunning())
        {
            return null;
        }

        bestLevel!.Take(best);
        runner.SetCurrent(best);
        runner.CountStarted();

        // A scheduler may date an item after the runner read the clock and before it took the lock.
        double waitMs = Math.Max(0, nowMs - best.EnqueuedAtMs);
        lane.RecordWait(waitMs);
        _metrics?.RecordWait(lane.Name, waitMs);
        return best;
    }

    private int EffectiveLevel(int level, LaneWorkItem item, long nowMs)
    {
        var waited = nowMs - item.EnqueuedAtMs;
        if (level == 0 || _ageingMilliseconds == 0 || waited < _ageingMilliseconds)
        {
            return level;
        }

        var promotions = (int)Math.Min(level, waited / _ageingMilliseconds);
        return level - promotions;
    }

    /// <summary>Frees the session after its item ran or left, and makes its next pending item ready. Under the lane's lock.</summary>
    private static bool ReleaseSession(Lane lane, string key)
    {
        if (!lane.Sessions.TryGetValue(key, out var session))
        {
            return false;
        }

        while (session.Pending.TryDequeue(out var next))
        {
            if (!next.IsWaiting)
            {
                continue;
            }

            next.InSessionPending = false;
            lane.Ready[(int)next.Priority].AddReleased(next);
            return true;
        }

        session.Busy = false;
        lane.Sessions.Remove(key);
        return false;
    }

    /// <summary>Removes a waiting item; does nothing once it runs or has left.</summary>
    private void Remove(Lane lane, LaneWorkItem item, LaneRemovalReason reason)
    {
        var startRunner = false;
        lock (lane.Sync)
        {
            if (!item.TryMarkRemoved())
            {
                return;
            }

            if (item.Sequence != 0)
            {
                lane.CountRemoved();

                // A removed item that held its session's place lets the next one of the session go.
                if (item.SessionKey is { } key && !item.InSessionPending)
                {
                    startRunner = ReleaseSession(lane, key) && lane.TryReserveSlot();
                }
            }
        }

        if (startRunner)
        {
            StartRunner(lane);
        }

        NotifyRemoved(item, reason);
    }

    private void NotifyRemoved(LaneWorkItem item, LaneRemovalReason reason)
    {
        item.CancellationRegistration.Dispose();
        try
        {
            item.OnRemoved(reason);
        }
        catch (Exception exception)
        {
            LaneLog.RemovalCallbackFailed(_logger, item.Id, item.Lane, exception);
        }
    }

    /// <summary>
    /// Marks every waiting item removed, counts them and returns them. Under the lane's lock. Items
    /// that may run during the grace period are started instead, because their holder still runs
    /// while it waits for them.
    /// </summary>
    private List<LaneWorkItem> DrainWaiting(Lane lane)
    {
        List<LaneWorkItem> drained = [];
        foreach (var level in lane.Ready)
        {
            foreach (var item in level.DrainAll())
            {
                if (item.RunsDuringGrace && item.SessionKey is null && item.TryMarkRunning())
                {
                    StartBorrowedLocked(lane, item);
                }
                else if (item.TryMarkRemoved())
                {
                    drained.Add(item);
                }
            }
        }

        foreach (var session in lane.Sessions.Values)
        {
            while (session.Pending.TryDequeue(out var item))
            {
                if (item.TryMarkRemoved())
                {
                    drained.Add(item);
                }
            }
        }

        foreach (var _ in drained)
        {
            lane.CountRemoved();
        }

        return drained;
    }
}

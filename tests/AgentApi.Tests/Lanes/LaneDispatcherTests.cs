using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using AgentApi.Lanes;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AgentApi.Tests.Lanes;

/// <summary>
/// The lane dispatcher with test work items, a <see cref="FakeTimeProvider"/> for waits, ageing
/// and grace periods, and captured log lines. The fake clock only moves when a test advances it.
/// </summary>
public sealed class LaneDispatcherTests : IAsyncLifetime
{
    internal const string Lane = "work";
    private const string OtherLane = "other";
    private const int LongWaitEventId = 4001;
    private const int WorkFailedEventId = 4003;
    private const int GraceExpiredEventId = 4006;
    private const int OutcomeFailedEventId = 4007;

    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan AgeingInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WaitLogThreshold = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>How long LaneDispatcher waits for cancelled work after the grace period before StopAsync returns.</summary>
    private static readonly TimeSpan CancelledWorkTimeout = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _time = new();
    private readonly LogCapture _logs = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentQueue<TestWorkItem> _items = new();
    private LaneDispatcher? _dispatcher;

    public LaneDispatcherTests()
    {
        _loggerFactory = new LoggerFactory([_logs]);
    }

    private LaneDispatcher Dispatcher => _dispatcher ?? throw new InvalidOperationException("Call CreateDispatcher first.");

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Releases every gated item, then stops the dispatcher, cancelling whatever still runs after the grace period.</summary>
    public async Task DisposeAsync()
    {
        if (_dispatcher is not null)
        {
            foreach (var item in _items)
            {
                await item.ReleaseAsync();
            }

            var stop = _dispatcher.StopAsync();
            _time.Advance(GracePeriod);
            await stop.WaitAsync(TestTimeout);
            await _dispatcher.DisposeAsync();
        }

        _loggerFactory.Dispose();
    }

    // Order and limits.

    [Fact]
    public async Task Schedule_LimitOneSamePriority_StartsInSchedulingOrder()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var recorder = new StartRecorder();
        var items = Enumerable.Range(0, 50).Select(i => NewItem($"item-{i}", recorder: recorder, body: YieldOnceAsync)).ToList();
        foreach (var item in items)
        {
            Assert.True(Dispatcher.Schedule(item));
        }

        await blocker.ReleaseAsync();
        await Task.WhenAll(items.Select(item => item.Finished)).WaitAsync(TestTimeout);

        Assert.Equal(items.Select(item => item.Id), recorder.Order);
        Assert.Equal(1, recorder.MaxConcurrent);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public async Task Schedule_TwoHundredAwaitingItems_ReachesButNeverExceedsLimit(int limit)
    {
        CreateDispatcher(limit);
        var recorder = new StartRecorder();
        var items = Enumerable.Range(0, 200).Select(i => NewItem($"item-{i}", recorder: recorder, body: DelayOneMillisecondAsync)).ToList();
        foreach (var item in items)
        {
            Assert.True(Dispatcher.Schedule(item));
        }

        await Task.WhenAll(items.Select(item => item.Finished)).WaitAsync(TestTimeout);
        await WaitUntilAsync(() => Snapshot().Completed == 200, "all 200 items are counted as completed");

        Assert.Equal(limit, recorder.MaxConcurrent);
        Assert.Equal(200, recorder.Order.Count);
        Assert.Equal(0, Snapshot().Active);
        Assert.Equal(0, Snapshot().Queued);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Schedule_ManyThreads_RunsEveryItemWithinLimit(int limit)
    {
        const int threads = 8;
        const int itemsPerThread = 1_000;
        const int burst = 4;
        CreateDispatcher(limit);
        var recorder = new StartRecorder();

        // Synchronous items in short bursts make the runners run dry and give back their slots
        // while other threads schedule, so runners stop and start often. An item that no runner
        // picks up never starts, and the wait below times out.
        var batches = Enumerable.Range(0, threads)
            .Select(thread => Enumerable.Range(0, itemsPerThread)
                .Select(i => NewItem($"item-{thread}-{i}", recorder: recorder, body: i % 8 == 7 ? YieldOnceAsync : null))
                .ToList())
            .ToList();
        await Task.WhenAll(batches.Select(batch => Task.Run(() =>
        {
            foreach (var chunk in batch.Chunk(burst))
            {
                ScheduleAll(chunk);
                Thread.Yield();
            }
        }))).WaitAsync(TestTimeout);

        await Task.WhenAll(batches.SelectMany(batch => batch).Select(item => item.Finished)).WaitAsync(TestTimeout);
        await WaitUntilAsync(() => Snapshot().Completed == threads * itemsPerThread, "every item is counted as completed");

        Assert.InRange(recorder.MaxConcurrent, 1, limit);
        Assert.Equal(threads * itemsPerThread, recorder.Order.Count);
        Assert.Equal(0, Snapshot().Active);
        Assert.Equal(0, Snapshot().Queued);
    }

    [Fact]
    public void Schedule_WhileRunnerGivesBackSlot_ItemStillRuns()
    {
        const int items = 30_000;
        CreateDispatcher(limit: 1);
        var counter = new RunCounter();

        // Each item is scheduled the moment the one before it has run, while the runner looks for
        // more work and gives back its slot. A scheduler that finds the slot still taken starts no
        // runner, so the runner must look again after it gives the slot back, or the item waits
        // forever with the slot free.
        for (var i = 1; i <= items; i++)
        {
            Assert.True(Dispatcher.Schedule(new CountingItem(Lane, counter)));
            var waited = Stopwatch.StartNew();
            while (counter.Count < i)
            {
                if (waited.Elapsed > TestTimeout)
                {
                    Assert.Fail($"Item {i} of {items} did not run; the lane reports {Snapshot().Active} active and {Snapshot().Queued} queued.");
                }

                Thread.SpinWait(8);
            }
        }

        Assert.Equal(items, counter.Count);
    }

    [Fact]
    public async Task Schedule_AllWaiting_TakesHighThenDefaultThenLow()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var recorder = new StartRecorder();
        List<TestWorkItem> items =
        [
            NewItem("low-1", priority: LanePriority.Low, recorder: recorder),
            NewItem("default-1", priority: LanePriority.Default, recorder: recorder),
            NewItem("high-1", priority: LanePriority.High, recorder: recorder),
            NewItem("low-2", priority: LanePriority.Low, recorder: recorder),
            NewItem("default-2", priority: LanePriority.Default, recorder: recorder),
            NewItem("high-2", priority: LanePriority.High, recorder: recorder),
        ];
        ScheduleAll(items);

        await blocker.ReleaseAsync();
        await Task.WhenAll(items.Select(item => item.Finished)).WaitAsync(TestTimeout);

        Assert.Equal(["high-1", "high-2", "default-1", "default-2", "low-1", "low-2"], recorder.Order);
    }

    [Fact]
    public async Task Schedule_HighArrivesWhileDraining_RunsNext()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var recorder = new StartRecorder();
        var high = NewItem("high", priority: LanePriority.High, recorder: recorder);

        // The runner takes plain items of a single level without the lane's lock. The first
        // default item schedules a high one while the others wait in the default level, so the
        // runner must notice the second level and take the high item next.
        var first = NewItem("default-1", recorder: recorder, body: (_, _) => Task.FromResult(Dispatcher.Schedule(high)));
        List<TestWorkItem> defaults = [first, .. Enumerable.Range(2, 4).Select(i => NewItem($"default-{i}", recorder: recorder))];
        ScheduleAll(defaults);

        await blocker.ReleaseAsync();
        await Task.WhenAll(defaults.Append(high).Select(item => item.Finished)).WaitAsync(TestTimeout);

        Assert.Equal(["default-1", "high", "default-2", "default-3", "default-4", "default-5"], recorder.Order);
    }

    [Fact]
    public async Task Schedule_PausedLane_DoesNotHoldUpOtherLane()
    {
        CreateDispatcher(limit: 0);
        var paused = NewItem("paused");
        var other = NewItem("other", lane: OtherLane);

        Assert.True(Dispatcher.Schedule(paused));
        Assert.True(Dispatcher.Schedule(other));

        Assert.True(await other.Finished.WaitAsync(TestTimeout));
        Assert.False(paused.HasStarted);
        Assert.Equal(1, Snapshot().Queued);
    }

    [Fact]
    public void Schedule_UndeclaredLane_ThrowsNamingLane()
    {
        CreateDispatcher(limit: 1);

        var exception = Assert.Throws<ArgumentException>(() => Dispatcher.Schedule(NewItem("lost", lane: "missing")));

        Assert.Contains("'missing'", exception.Message, StringComparison.Ordinal);
    }

    // Ageing.

    [Fact]
    public async Task Ageing_LowWaitedOneInterval_RunsBeforeLaterDefault()
    {
        var order = await RunAfterWaitAsync(LanePriority.Low, AgeingInterval, LanePriority.Default);

        Assert.Equal(["first", "later"], order);
    }

    [Fact]
    public async Task Ageing_LowWaitedJustUnderInterval_RunsAfterLaterDefault()
    {
        var order = await RunAfterWaitAsync(LanePriority.Low, AgeingInterval - TimeSpan.FromTicks(1), LanePriority.Default);

        Assert.Equal(["later", "first"], order);
    }

    [Fact]
    public async Task Ageing_LowWaitedOneInterval_StillRunsAfterLaterHigh()
    {
        var order = await RunAfterWaitAsync(LanePriority.Low, AgeingInterval, LanePriority.High);

        Assert.Equal(["later", "first"], order);
    }

    [Fact]
    public async Task Ageing_LowWaitedTwoIntervals_RunsBeforeLaterHigh()
    {
        var order = await RunAfterWaitAsync(LanePriority.Low, 2 * AgeingInterval, LanePriority.High);

        Assert.Equal(["first", "later"], order);
    }

    [Fact]
    public async Task Ageing_Disabled_KeepsStrictPriority()
    {
        var order = await RunAfterWaitAsync(LanePriority.Low, TimeSpan.FromMinutes(10), LanePriority.Default, ageingInterval: TimeSpan.Zero);

        Assert.Equal(["later", "first"], order);
    }

    [Fact]
    public async Task Ageing_EqualEffectiveLevels_RunFirstScheduledFirst()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var recorder = new StartRecorder();
        var agedLow = NewItem("aged-low", priority: LanePriority.Low, recorder: recorder);
        Dispatcher.Schedule(agedLow);
        _time.Advance(AgeingInterval);

        // The aged low item now counts as default, so it ties with both default items and wins on age.
        List<TestWorkItem> later =
        [
            NewItem("default-1", priority: LanePriority.Default, recorder: recorder),
            NewItem("fresh-low", priority: LanePriority.Low, recorder: recorder),
            NewItem("default-2", priority: LanePriority.Default, recorder: recorder),
        ];
        ScheduleAll(later);

        await blocker.ReleaseAsync();
        await Task.WhenAll(later.Append(agedLow).Select(item => item.Finished)).WaitAsync(TestTimeout);

        Assert.Equal(["aged-low", "default-1", "default-2", "fresh-low"], recorder.Order);
    }

    // Sessions.

    [Fact]
    public async Task Session_SameKeyAtLimitFive_RunsOneAtATimeInSchedulingOrder()
    {
        CreateDispatcher(limit: 5);
        var recorder = new StartRecorder();
        LanePriority[] priorities = [LanePriority.Low, LanePriority.High, LanePriority.Default];
        var items = Enumerable.Range(0, 20)
            .Select(i => NewItem($"item-{i}", sessionKey: "session-a", priority: priorities[i % 3], recorder: recorder, body: DelayOneMillisecondAsync))
            .ToList();
        ScheduleAll(items);

        await Task.WhenAll(items.Select(item => item.Finished)).WaitAsync(TestTimeout);

        Assert.Equal(items.Select(item => item.Id), recorder.Order);
        Assert.Equal(1, recorder.MaxConcurrent);
    }

    [Fact]
    public async Task Session_DifferentKeys_RunInParallelUpToLimit()
    {
        CreateDispatcher(limit: 3);
        var items = new[] { "a", "b", "c", "d" }.Select(key => NewItem($"item-{key}", sessionKey: $"session-{key}", gated: true)).ToList();
        ScheduleAll(items);

        await Task.WhenAll(items.Take(3).Select(item => item.Started)).WaitAsync(TestTimeout);
        await SettleAsync();

        Assert.False(items[3].HasStarted);
        Assert.Equal(3, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
        Assert.Equal(LaneWaitReason.LaneFull, Snapshot().OldestWaitReason);

        await items[0].ReleaseAsync();

        await items[3].Started.WaitAsync(TestTimeout);
    }

    [Fact]
    public async Task Session_LowItemBeforeHighOfSameKey_RunsLowFirst()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var recorder = new StartRecorder();
        var low = NewItem("session-low", sessionKey: "session-a", priority: LanePriority.Low, recorder: recorder);
        var high = NewItem("session-high", sessionKey: "session-a", priority: LanePriority.High, recorder: recorder);
        var unrelated = NewItem("unrelated-default", priority: LanePriority.Default, recorder: recorder);
        ScheduleAll([low, high, unrelated]);

        await blocker.ReleaseAsync();
        await Task.WhenAll(low.Finished, high.Finished, unrelated.Finished).WaitAsync(TestTimeout);

        // The high item waits for the session, not for the lane, so the unrelated default item goes first.
        Assert.Equal(["unrelated-default", "session-low", "session-high"], recorder.Order);
    }

    // Live limit changes.

    [Fact]
    public async Task TrySetLimit_Raised_StartsWaitingWorkAtOnce()
    {
        CreateDispatcher(limit: 1);
        List<LaneSnapshot> changes = [];
        Dispatcher.LimitChanged += changes.Add;
        await StartBlockerAsync();
        var waiting = Enumerable.Range(0, 3).Select(i => NewItem($"waiting-{i}", gated: true)).ToList();
        ScheduleAll(waiting);

        Assert.True(Dispatcher.TrySetLimit(Lane, 3));

        await Task.WhenAll(waiting[0].Started, waiting[1].Started).WaitAsync(TestTimeout);
        await SettleAsync();
        Assert.False(waiting[2].HasStarted);
        Assert.Equal(3, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
        Assert.Equal(3, Snapshot().MaxConcurrent);
        var change = Assert.Single(changes);
        Assert.Equal(Lane, change.Name);
        Assert.Equal(3, change.MaxConcurrent);
    }

    [Fact]
    public async Task TrySetLimit_Lowered_StartsNothingUntilBelowNewLimit()
    {
        CreateDispatcher(limit: 3);
        var running = Enumerable.Range(0, 3).Select(i => NewItem($"running-{i}", gated: true)).ToList();
        ScheduleAll(running);
        await Task.WhenAll(running.Select(item => item.Started)).WaitAsync(TestTimeout);
        var waiting = Enumerable.Range(0, 2).Select(i => NewItem($"waiting-{i}", gated: true)).ToList();
        ScheduleAll(waiting);

        Assert.True(Dispatcher.TrySetLimit(Lane, 1));

        await running[0].ReleaseAsync();
        Assert.True(await running[0].Finished.WaitAsync(TestTimeout));
        Assert.False(waiting[0].HasStarted);
        Assert.Equal(2, Snapshot().Active);

        await running[1].ReleaseAsync();
        Assert.False(waiting[0].HasStarted);
        Assert.Equal(1, Snapshot().Active);
        Assert.Equal(2, Snapshot().Queued);

        await running[2].ReleaseAsync();
        await waiting[0].Started.WaitAsync(TestTimeout);
        await SettleAsync();
        Assert.False(waiting[1].HasStarted);
        Assert.Equal(1, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
    }

    [Fact]
    public async Task TrySetLimit_Zero_PausesUntilRaised()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var waiting = NewItem("waiting");
        Dispatcher.Schedule(waiting);

        Assert.True(Dispatcher.TrySetLimit(Lane, 0));
        await blocker.ReleaseAsync();
        await SettleAsync();

        Assert.False(waiting.HasStarted);
        Assert.Equal(0, Snapshot().MaxConcurrent);
        Assert.Equal(0, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
        Assert.Equal(LaneWaitReason.Paused, Snapshot().OldestWaitReason);

        Assert.True(Dispatcher.TrySetLimit(Lane, 1));

        Assert.True(await waiting.Finished.WaitAsync(TestTimeout));
    }

    [Fact]
    public void TrySetLimit_UndeclaredLane_ReturnsFalse()
    {
        CreateDispatcher(limit: 1);

        Assert.False(Dispatcher.TrySetLimit("missing", 2));
    }

    [Fact]
    public void TrySetLimit_Negative_Throws()
    {
        CreateDispatcher(limit: 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => Dispatcher.TrySetLimit(Lane, -1));
        Assert.Equal(1, Snapshot().MaxConcurrent);
    }

    // Cancellation and deadlines.

    [Fact]
    public async Task Cancel_WaitingItem_RemovesItWithoutRunning()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        using var cancellation = new CancellationTokenSource();
        var waiting = NewItem("waiting", cancellationToken: cancellation.Token);
        Dispatcher.Schedule(waiting);
        Assert.Equal(1, Snapshot().Queued);

        await cancellation.CancelAsync();

        Assert.Equal(LaneRemovalReason.Cancelled, await waiting.Removed.WaitAsync(TestTimeout));
        Assert.Equal(0, Snapshot().Queued);
        await blocker.ReleaseAsync();
        await WaitUntilAsync(() => Snapshot().Completed == 1, "the blocker is counted as completed");
        await SettleAsync();
        Assert.False(waiting.HasStarted);
        Assert.Equal([LaneRemovalReason.Cancelled], waiting.Removals);
        Assert.Equal(0, Snapshot().Active);
    }

    [Fact]
    public async Task Cancel_ItemWaitingBehindSession_RemovesItAndKeepsOrder()
    {
        CreateDispatcher(limit: 2);
        var first = NewItem("first", sessionKey: "session-a", gated: true);
        Dispatcher.Schedule(first);
        await first.Started.WaitAsync(TestTimeout);
        using var cancellation = new CancellationTokenSource();
        var cancelled = NewItem("cancelled", sessionKey: "session-a", cancellationToken: cancellation.Token);
        var last = NewItem("last", sessionKey: "session-a");
        ScheduleAll([cancelled, last]);
        Assert.Equal(2, Snapshot().Queued);
        Assert.Equal(LaneWaitReason.SessionBusy, Snapshot().OldestWaitReason);

        await cancellation.CancelAsync();

        Assert.Equal(LaneRemovalReason.Cancelled, await cancelled.Removed.WaitAsync(TestTimeout));
        Assert.Equal(1, Snapshot().Queued);
        await SettleAsync();
        Assert.False(last.HasStarted);

        await first.ReleaseAsync();

        Assert.True(await last.Finished.WaitAsync(TestTimeout));
        Assert.False(cancelled.HasStarted);
        Assert.Single(cancelled.Removals);
    }

    [Fact]
    public async Task Schedule_TokenAlreadyCancelled_RemovesItAtOnce()
    {
        CreateDispatcher(limit: 1);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        var item = NewItem("cancelled-early", cancellationToken: cancellation.Token);

        Assert.True(Dispatcher.Schedule(item));

        Assert.Equal([LaneRemovalReason.Cancelled], item.Removals);
        Assert.Equal(0, Snapshot().Queued);

        // A later item runs, so the lane was neither blocked nor running the cancelled one.
        var probe = NewItem("probe");
        Dispatcher.Schedule(probe);
        Assert.True(await probe.Finished.WaitAsync(TestTimeout));
        Assert.False(item.HasStarted);
    }

    [Fact]
    public async Task Cancel_ItemHoldingSessionPlace_LetsNextSessionItemRun()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        using var cancellation = new CancellationTokenSource();
        var cancelled = NewItem("cancelled", sessionKey: "session-a", cancellationToken: cancellation.Token);
        var next = NewItem("next", sessionKey: "session-a");
        ScheduleAll([cancelled, next]);

        await cancellation.CancelAsync();
        Assert.Equal(LaneRemovalReason.Cancelled, await cancelled.Removed.WaitAsync(TestTimeout));
        Assert.Equal(1, Snapshot().Queued);
        Assert.Equal(LaneWaitReason.LaneFull, Snapshot().OldestWaitReason);

        await blocker.ReleaseAsync();

        Assert.True(await next.Finished.WaitAsync(TestTimeout));
        Assert.False(cancelled.HasStarted);
    }

    [Fact]
    public async Task Deadline_WhileWaiting_RemovesItemAndFreesNothingElse()
    {
        CreateDispatcher(limit: 1);
        var running = NewItem("running", sessionKey: "session-a", gated: true);
        Dispatcher.Schedule(running);
        await running.Started.WaitAsync(TestTimeout);
        using var sessionDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
        using var laneDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
        var expiresInSession = NewItem("expires-in-session", sessionKey: "session-a", cancellationToken: sessionDeadline.Token);
        var expiresInLane = NewItem("expires-in-lane", cancellationToken: laneDeadline.Token);
        var sessionNext = NewItem("session-next", sessionKey: "session-a", gated: true);
        ScheduleAll([expiresInSession, expiresInLane, sessionNext]);

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.Empty(expiresInSession.Removals);
        Assert.Equal(3, Snapshot().Queued);

        _time.Advance(TimeSpan.FromTicks(1));

        Assert.Equal(LaneRemovalReason.Cancelled, await expiresInSession.Removed.WaitAsync(TestTimeout));
        Assert.Equal(LaneRemovalReason.Cancelled, await expiresInLane.Removed.WaitAsync(TestTimeout));
        await SettleAsync();
        Assert.False(sessionNext.HasStarted);
        Assert.Equal(1, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
        Assert.Equal(LaneWaitReason.SessionBusy, Snapshot().OldestWaitReason);
        Assert.False(running.CancellationToken.IsCancellationRequested);
        Assert.False(running.ShutdownToken.IsCancellationRequested);

        await running.ReleaseAsync();

        await sessionNext.Started.WaitAsync(TestTimeout);
        Assert.False(expiresInSession.HasStarted);
        Assert.False(expiresInLane.HasStarted);
    }

    [Fact]
    public async Task Cancel_RunningItem_ItemSeesItsOwnToken()
    {
        CreateDispatcher(limit: 1);
        using var cancellation = new CancellationTokenSource();
        var item = NewItem("running", cancellationToken: cancellation.Token, body: WaitForOwnCancellationAsync);
        Dispatcher.Schedule(item);
        await item.Started.WaitAsync(TestTimeout);

        await cancellation.CancelAsync();

        Assert.False(await item.Finished.WaitAsync(TestTimeout));
        await WaitUntilAsync(() => Snapshot().Failed == 1, "the cancelled run is counted as failed");
        Assert.Empty(item.Removals);
        Assert.False(item.ShutdownToken.IsCancellationRequested);
        Assert.Equal(0, Snapshot().Active);
    }

    // Nested work.

    [Fact]
    public async Task Schedule_ChildWithHolderInFullLane_RunsOnHolderSlot()
    {
        CreateDispatcher(limit: 1);
        TestWorkItem? child = null;
        var parent = NewItem("parent", sessionKey: "session-a", body: async (self, _) =>
        {
            // Same lane and session as the parent: without the holder the child would wait for both.
            child = NewItem("child", sessionKey: "session-a");
            if (!Dispatcher.Schedule(child, holder: self))
            {
                return false;
            }

            return await child.Finished.WaitAsync(TestTimeout);
        });

        Dispatcher.Schedule(parent);

        Assert.True(await parent.Finished.WaitAsync(TestTimeout));
        Assert.NotNull(child);
        Assert.Equal(1, child.StartCount);
        await WaitUntilAsync(() => Snapshot().Completed == 2, "the parent and the child are counted as completed");
        Assert.Equal(0, Snapshot().Active);
        Assert.Equal(0, Snapshot().Queued);
    }

    [Fact]
    public async Task Schedule_ChildWithoutHolderInFullLane_WaitsForParentSlot()
    {
        CreateDispatcher(limit: 1);
        var childScheduled = new TaskCompletionSource<TestWorkItem>(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseParent = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = NewItem("parent", body: async (_, _) =>
        {
            var scheduled = NewItem("child");
            Dispatcher.Schedule(scheduled);
            childScheduled.SetResult(scheduled);
            return await releaseParent.Task;
        });
        Dispatcher.Schedule(parent);

        var child = await childScheduled.Task.WaitAsync(TestTimeout);
        await SettleAsync();

        Assert.False(child.HasStarted);
        Assert.Equal(1, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
        Assert.Equal(LaneWaitReason.LaneFull, Snapshot().OldestWaitReason);

        releaseParent.SetResult(true);

        Assert.True(await parent.Finished.WaitAsync(TestTimeout));
        Assert.True(await child.Finished.WaitAsync(TestTimeout));
    }

    // Snapshots and logs.

    [Fact]
    public async Task GetSnapshot_AfterWaits_ReportsCountsAndWaitPercentiles()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var succeeding = Enumerable.Range(0, 2).Select(i => NewItem($"succeeds-{i}")).ToList();
        var failing = NewItem("fails", body: (_, _) => Task.FromResult(false));
        ScheduleAll([.. succeeding, failing]);
        _time.Advance(TimeSpan.FromMilliseconds(100));

        var waiting = Snapshot();
        Assert.Equal(Lane, waiting.Name);
        Assert.Equal(1, waiting.MaxConcurrent);
        Assert.Equal(1, waiting.Active);
        Assert.Equal(3, waiting.Queued);
        Assert.Equal(LaneWaitReason.LaneFull, waiting.OldestWaitReason);
        Assert.Equal(100, waiting.OldestWaitMs);

        await blocker.ReleaseAsync();
        await WaitUntilAsync(() => Snapshot().Completed == 3 && Snapshot().Failed == 1, "three successes and one failure are counted");

        // Recorded waits are 0 ms for the blocker and 100 ms for each of the other three items.
        var done = Snapshot();
        Assert.Equal(0, done.Active);
        Assert.Equal(0, done.Queued);
        Assert.Equal(100, done.WaitP50Ms);
        Assert.Equal(100, done.WaitP95Ms);
        Assert.Null(done.OldestWaitReason);
        Assert.Null(done.OldestWaitMs);
    }

    [Fact]
    public async Task GetSnapshot_LiveRunner_IncludesItsCounts()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var quick = Enumerable.Range(0, 5).Select(i => NewItem($"quick-{i}")).ToList();
        var last = NewItem("last", gated: true);
        ScheduleAll([.. quick, last]);

        // One runner counts the blocker and the quick items without the lane's lock and then
        // waits in the last item, so the lane's counts must include the counts of a runner that
        // is still running.
        await blocker.ReleaseAsync();
        await last.Started.WaitAsync(TestTimeout);

        var snapshot = Snapshot();
        Assert.Equal(6, snapshot.Completed);
        Assert.Equal(1, snapshot.Active);
        Assert.Equal(0, snapshot.Queued);

        await last.ReleaseAsync(succeeded: false);
        await WaitUntilAsync(() => Snapshot().Failed == 1, "the last item is counted as failed");
        Assert.Equal(6, Snapshot().Completed);
        Assert.Equal(0, Snapshot().Active);
    }

    [Fact]
    public async Task GetSnapshot_FractionalWait_CountsWholeMilliseconds()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        Dispatcher.Schedule(NewItem("waits-2.75-ms"));
        _time.Advance(TimeSpan.FromMicroseconds(2_750));

        await blocker.ReleaseAsync();
        await WaitUntilAsync(() => Snapshot().Completed == 2, "both items are counted");

        // The lane clock counts whole milliseconds: 0 ms for the blocker and 2 ms for the item behind it.
        var snapshot = Snapshot();
        Assert.Equal(0, snapshot.WaitP50Ms);
        Assert.Equal(2, snapshot.WaitP95Ms);
    }

    [Fact]
    public async Task GetSnapshot_SessionItemBehindRunningOne_ReportsSessionBusy()
    {
        CreateDispatcher(limit: 2);
        var running = NewItem("running", sessionKey: "session-a", gated: true);
        Dispatcher.Schedule(running);
        await running.Started.WaitAsync(TestTimeout);

        Dispatcher.Schedule(NewItem("waiting", sessionKey: "session-a"));

        Assert.Equal(LaneWaitReason.SessionBusy, Snapshot().OldestWaitReason);
        Assert.Equal(1, Snapshot().Active);
        Assert.Equal(1, Snapshot().Queued);
    }

    [Fact]
    public void GetSnapshot_PausedLane_ReportsPaused()
    {
        CreateDispatcher(limit: 0);

        Dispatcher.Schedule(NewItem("waiting"));
        _time.Advance(TimeSpan.FromSeconds(1));

        var snapshot = Snapshot();
        Assert.Equal(LaneWaitReason.Paused, snapshot.OldestWaitReason);
        Assert.Equal(0, snapshot.MaxConcurrent);
        Assert.Equal(1, snapshot.Queued);
        Assert.Equal(1000, snapshot.OldestWaitMs);
    }

    [Fact]
    public void GetSnapshots_TwoLanes_ReturnsBothByName()
    {
        CreateDispatcher(limit: 4);

        Assert.Equal([OtherLane, Lane], Dispatcher.GetSnapshots().Select(snapshot => snapshot.Name));
        Assert.Equal(4, Dispatcher.GetSnapshots()[1].MaxConcurrent);
        Assert.Null(Dispatcher.GetSnapshot("missing"));
    }

    [Fact]
    public async Task LongWaitLog_PastThreshold_LogsEachWaitingItemOnce()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        var first = NewItem("first", gated: true);
        var second = NewItem("second", gated: true);
        ScheduleAll([first, second]);

        _time.Advance(WaitLogThreshold - TimeSpan.FromSeconds(1));
        Assert.Empty(LongWaitLogs());

        _time.Advance(TimeSpan.FromSeconds(1.5));
        var firstLog = Assert.Single(LongWaitLogs(), log => log.Message.Contains("Work first has waited", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, firstLog.Level);
        Assert.Contains("(lane_full)", firstLog.Message, StringComparison.Ordinal);
        Assert.Contains("taken by: blocker", firstLog.Message, StringComparison.Ordinal);
        Assert.Contains("at position 1 of 2 waiting", firstLog.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Single(LongWaitLogs(), log => log.Message.Contains("Work first ", StringComparison.Ordinal));

        // Once the first item runs, the second is still waiting and gets its own single line.
        await blocker.ReleaseAsync();
        await first.Started.WaitAsync(TestTimeout);
        _time.Advance(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(5));

        var secondLog = Assert.Single(LongWaitLogs(), log => log.Message.Contains("Work second has waited", StringComparison.Ordinal));
        Assert.Contains("at position 1 of 1 waiting", secondLog.Message, StringComparison.Ordinal);
        Assert.Single(LongWaitLogs(), log => log.Message.Contains("Work first ", StringComparison.Ordinal));
        Assert.Equal(2, LongWaitLogs().Count);
    }

    // Failures.

    [Fact]
    public async Task ExecuteAsync_Throws_CountsFailedAndLaneGoesOn()
    {
        CreateDispatcher(limit: 1);
        var throwing = NewItem("throws", body: (_, _) => throw new InvalidOperationException("Simulated work failure."));
        var next = NewItem("next");
        ScheduleAll([throwing, next]);

        Assert.True(await next.Finished.WaitAsync(TestTimeout));
        await Assert.ThrowsAsync<InvalidOperationException>(() => throwing.Finished.WaitAsync(TestTimeout));
        await WaitUntilAsync(() => Snapshot().Completed == 1 && Snapshot().Failed == 1, "one success and one failure are counted");

        var log = Assert.Single(_logs.Entries, entry => entry.EventId.Id == WorkFailedEventId);
        Assert.Contains("throws", log.Message, StringComparison.Ordinal);
        Assert.Contains("Simulated work failure.", log.Exception, StringComparison.Ordinal);
        Assert.Equal(0, Snapshot().Active);
    }

    // Deferred outcomes.

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DeferredOutcome_FreesSlotAndCountsOnArrival(bool outcomeValue)
    {
        CreateDispatcher(limit: 1);
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        // ExecuteAsync returns the opposite of the outcome, which the lane must not count.
        var deferring = NewItem("deferring", body: (_, _) => Task.FromResult(!outcomeValue), deferredOutcome: outcome.Task);
        var next = NewItem("next", gated: true);
        ScheduleAll([deferring, next]);

        // At limit 1 the next item can start only on the slot the deferring item gave back.
        Assert.Equal(!outcomeValue, await deferring.Finished.WaitAsync(TestTimeout));
        await next.Started.WaitAsync(TestTimeout);
        Assert.Equal(1, Snapshot().Active);
        Assert.Equal(0, Snapshot().Completed);
        Assert.Equal(0, Snapshot().Failed);

        await next.ReleaseAsync();
        await WaitUntilAsync(() => Snapshot().Completed == 1, "the next item is counted as completed");
        await SettleAsync();
        Assert.Equal(1, Snapshot().Completed);
        Assert.Equal(0, Snapshot().Failed);
        Assert.Equal(0, Snapshot().Active);

        outcome.SetResult(outcomeValue);

        await WaitUntilAsync(() => Snapshot().Completed + Snapshot().Failed == 2, "the deferred outcome is counted");
        Assert.Equal(outcomeValue ? 2 : 1, Snapshot().Completed);
        Assert.Equal(outcomeValue ? 0 : 1, Snapshot().Failed);
        Assert.DoesNotContain(_logs.Entries, entry => entry.EventId.Id == OutcomeFailedEventId);
    }

    [Fact]
    public async Task DeferredOutcome_FaultedOrCancelled_CountsFailed()
    {
        CreateDispatcher(limit: 1);
        var faulted = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var faulting = NewItem("faulting", deferredOutcome: faulted.Task);
        var cancelling = NewItem("cancelling", deferredOutcome: cancelled.Task);
        ScheduleAll([faulting, cancelling]);
        Assert.True(await cancelling.Finished.WaitAsync(TestTimeout));
        await SettleAsync();
        Assert.Equal(0, Snapshot().Failed);

        faulted.SetException(new InvalidOperationException("Simulated outcome failure."));
        cancelled.SetCanceled();

        await WaitUntilAsync(() => Snapshot().Failed == 2, "both deferred outcomes are counted as failed");
        Assert.Equal(0, Snapshot().Completed);
        var logs = _logs.Entries.Where(entry => entry.EventId.Id == OutcomeFailedEventId).ToList();
        Assert.Equal(2, logs.Count);
        Assert.All(logs, log => Assert.Equal(LogLevel.Error, log.Level));
        Assert.Single(logs, log => log.Message.Contains("faulting", StringComparison.Ordinal)
            && log.Exception?.Contains("Simulated outcome failure.", StringComparison.Ordinal) == true);
        Assert.Single(logs, log => log.Message.Contains("cancelling", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeferredOutcome_BorrowedItem_CountsWhenItArrives()
    {
        CreateDispatcher(limit: 1);
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        TestWorkItem? child = null;
        var parent = NewItem("parent", body: async (self, _) =>
        {
            child = NewItem("child", deferredOutcome: outcome.Task);
            return Dispatcher.Schedule(child, holder: self) && await child.Finished.WaitAsync(TestTimeout);
        });

        Dispatcher.Schedule(parent);

        Assert.True(await parent.Finished.WaitAsync(TestTimeout));
        await WaitUntilAsync(() => Snapshot().Completed == 1, "the parent is counted as completed");
        await SettleAsync();
        Assert.Equal(1, Snapshot().Completed);
        Assert.Equal(0, Snapshot().Active);

        outcome.SetResult(true);

        await WaitUntilAsync(() => Snapshot().Completed == 2, "the child's deferred outcome is counted");
        Assert.Equal(1, child!.StartCount);
        Assert.Equal(0, Snapshot().Failed);
    }

    // Work that reports it did not start.

    [Theory]
    [InlineData(null)]
    [InlineData("session-a")]
    public async Task NotStarted_NotCountedAndFreesSlot(string? sessionKey)
    {
        CreateDispatcher(limit: 1);

        // ExecuteAsync returns false, which the lane must not count as failed.
        var notStarted = NewItem("not-started", sessionKey: sessionKey, body: (_, _) => Task.FromResult(false), reportsNotStarted: true);
        var next = NewItem("next", sessionKey: sessionKey, gated: true);
        ScheduleAll([notStarted, next]);

        // At limit 1, and in the same session when there is one, the next item can start only
        // once the item that did not start has given back its slot and its session.
        Assert.False(await notStarted.Finished.WaitAsync(TestTimeout));
        await next.Started.WaitAsync(TestTimeout);
        var running = Snapshot();
        Assert.Equal(1, running.Active);
        Assert.Equal(0, running.Queued);
        Assert.Equal(0, running.Completed);
        Assert.Equal(0, running.Failed);

        await next.ReleaseAsync();
        await WaitUntilAsync(() => Snapshot().Completed == 1, "the next item is counted as completed");
        await SettleAsync();
        var done = Snapshot();
        Assert.Equal(1, done.Completed);
        Assert.Equal(0, done.Failed);
        Assert.Equal(0, done.Active);
        Assert.Equal(0, done.Queued);
        Assert.Equal(1, notStarted.StartCount);
        Assert.Empty(notStarted.Removals);
    }

    [Fact]
    public async Task NotStarted_BorrowedItem_NotCounted()
    {
        CreateDispatcher(limit: 1);
        TestWorkItem? child = null;
        var parent = NewItem("parent", body: async (self, _) =>
        {
            child = NewItem("child", reportsNotStarted: true);
            return Dispatcher.Schedule(child, holder: self) && await child.Finished.WaitAsync(TestTimeout);
        });

        Dispatcher.Schedule(parent);

        Assert.True(await parent.Finished.WaitAsync(TestTimeout));
        await WaitUntilAsync(() => Snapshot().Completed == 1, "the parent is counted as completed");
        await SettleAsync();
        var done = Snapshot();
        Assert.Equal(1, done.Completed);
        Assert.Equal(0, done.Failed);
        Assert.Equal(0, done.Active);
        Assert.Equal(0, done.Queued);
        Assert.Equal(1, child!.StartCount);
    }

    // Shutdown.

    [Fact]
    public async Task StopAsync_WaitingAndRunningWork_HandsBackWaitingAndAwaitsRunning()
    {
        CreateDispatcher(limit: 1);
        var blocker = await StartBlockerAsync();
        List<TestWorkItem> waiting =
        [
            NewItem("waiting-plain"),
            NewItem("waiting-session-first", sessionKey: "session-a"),
            NewItem("waiting-session-second", sessionKey: "session-a"),
        ];
        ScheduleAll(waiting);

        var stop = Dispatcher.StopAsync();

        foreach (var item in waiting)
        {
            Assert.Equal(LaneRemovalReason.Shutdown, await item.Removed.WaitAsync(TestTimeout));
            Assert.Single(item.Removals);
        }

        Assert.Equal(0, Snapshot().Queued);
        var late = NewItem("late");
        Assert.False(Dispatcher.Schedule(late));
        Assert.Empty(late.Removals);

        _time.Advance(GracePeriod - TimeSpan.FromSeconds(1));
        Assert.False(stop.IsCompleted);
        Assert.False(blocker.ShutdownToken.IsCancellationRequested);

        await blocker.ReleaseAsync();
        await stop.WaitAsync(TestTimeout);

        Assert.True(await blocker.Finished.WaitAsync(TestTimeout));
        Assert.False(blocker.ShutdownToken.IsCancellationRequested);
        Assert.DoesNotContain(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
        Assert.All(waiting, item => Assert.False(item.HasStarted));
        Assert.False(late.HasStarted);
        Assert.Equal(1, Snapshot().Completed);
    }

    [Fact]
    public async Task StopAsync_WorkPastGracePeriod_CancelsShutdownToken()
    {
        CreateDispatcher(limit: 1);
        var stubborn = NewItem("stubborn", body: WaitForShutdownAsync);
        Dispatcher.Schedule(stubborn);
        await stubborn.Started.WaitAsync(TestTimeout);

        var stop = Dispatcher.StopAsync();
        _time.Advance(GracePeriod - TimeSpan.FromMilliseconds(1));
        await SettleAsync();

        Assert.False(stubborn.ShutdownToken.IsCancellationRequested);
        Assert.False(stop.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await stop.WaitAsync(TestTimeout);

        Assert.True(stubborn.ShutdownToken.IsCancellationRequested);
        Assert.False(await stubborn.Finished.WaitAsync(TestTimeout));
        Assert.Single(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
    }

    [Fact]
    public async Task StopAsync_WorkIgnoresShutdownToken_ReturnsAfterCancelTimeout()
    {
        CreateDispatcher(limit: 1);
        var ignoring = NewItem("ignores-shutdown", gated: true);
        Dispatcher.Schedule(ignoring);
        await ignoring.Started.WaitAsync(TestTimeout);

        var stop = Dispatcher.StopAsync();
        _time.Advance(GracePeriod);
        await SettleAsync();

        Assert.True(ignoring.ShutdownToken.IsCancellationRequested);
        Assert.False(stop.IsCompleted);

        _time.Advance(CancelledWorkTimeout - TimeSpan.FromMilliseconds(1));
        await SettleAsync();
        Assert.False(stop.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await stop.WaitAsync(TestTimeout);

        Assert.False(ignoring.Finished.IsCompleted);
        Assert.Equal(1, Snapshot().Active);
    }

    [Fact]
    public async Task StopAsync_BlockingCancelCallback()
    {
        CreateDispatcher(limit: 1);
        using var release = new ManualResetEventSlim();
        var callbackRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocking = NewItem("blocking-cancel", body: (item, shutdownToken) =>
        {
            var waiting = WaitForShutdownAsync(item, shutdownToken);

            // Blocks as Npgsql's cancel request for a query against a hung server does.
            shutdownToken.Register(() =>
            {
                callbackRan.TrySetResult();
                release.Wait();
            });
            return waiting;
        });
        Dispatcher.Schedule(blocking);
        await blocking.Started.WaitAsync(TestTimeout);

        try
        {
            var stop = Dispatcher.StopAsync();
            _time.Advance(GracePeriod);
            await callbackRan.Task.WaitAsync(TestTimeout);
            Assert.True(blocking.ShutdownToken.IsCancellationRequested);

            // The callback still blocks, and the stop returns after the wait for cancelled work.
            _time.Advance(CancelledWorkTimeout);
            await stop.WaitAsync(TestTimeout);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task StopAsync_PendingOutcome_WaitsForIt()
    {
        CreateDispatcher(limit: 1);
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deferring = await RunDeferringAsync(outcome.Task);

        var stop = Dispatcher.StopAsync();
        _time.Advance(GracePeriod - TimeSpan.FromSeconds(1));
        await SettleAsync();
        Assert.False(stop.IsCompleted);

        outcome.SetResult(true);
        await stop.WaitAsync(TestTimeout);

        Assert.Equal(1, Snapshot().Completed);
        Assert.False(deferring.ShutdownToken.IsCancellationRequested);
        Assert.DoesNotContain(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
    }

    [Fact]
    public async Task StopAsync_OutcomeAfterTimeout_StillCounted()
    {
        CreateDispatcher(limit: 1);
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deferring = await RunDeferringAsync(outcome.Task);

        var stop = Dispatcher.StopAsync();
        _time.Advance(GracePeriod);
        await SettleAsync();
        Assert.True(deferring.ShutdownToken.IsCancellationRequested);
        Assert.False(stop.IsCompleted);

        _time.Advance(CancelledWorkTimeout);
        await stop.WaitAsync(TestTimeout);
        var log = Assert.Single(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
        Assert.Contains("0 items still running and 1 outcomes pending", log.Message, StringComparison.Ordinal);
        Assert.Equal(0, Snapshot().Failed);

        await Dispatcher.DisposeAsync();
        outcome.SetResult(false);

        await WaitUntilAsync(() => Snapshot().Failed == 1, "the outcome that arrived after shutdown is counted");
        Assert.Equal(0, Snapshot().Completed);
    }

    [Fact]
    public async Task StopAsync_HostTokenCancelled_CancelsWorkBeforeGracePeriod()
    {
        CreateDispatcher(limit: 1);
        var stubborn = NewItem("stubborn", body: WaitForShutdownAsync);
        Dispatcher.Schedule(stubborn);
        await stubborn.Started.WaitAsync(TestTimeout);
        using var hostShutdown = new CancellationTokenSource();

        var stop = Dispatcher.StopAsync(hostShutdown.Token);
        await SettleAsync();
        Assert.False(stop.IsCompleted);

        await hostShutdown.CancelAsync();
        await stop.WaitAsync(TestTimeout);

        Assert.True(stubborn.ShutdownToken.IsCancellationRequested);
        Assert.False(await stubborn.Finished.WaitAsync(TestTimeout));
        Assert.Single(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
    }

    [Fact]
    public async Task StopAsync_WhileThreadsSchedule_AccountsForEveryItem()
    {
        const int threads = 4;
        const int itemsPerThread = 2_000;
        CreateDispatcher(limit: 2);
        var accepted = new ConcurrentQueue<TestWorkItem>();
        var rejected = new ConcurrentQueue<TestWorkItem>();
        var batches = Enumerable.Range(0, threads)
            .Select(thread => Enumerable.Range(0, itemsPerThread).Select(i => NewItem($"item-{thread}-{i}")).ToList())
            .ToList();
        using var halfScheduled = new CountdownEvent(threads);

        var schedulers = batches.Select(batch => Task.Run(() =>
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (i == batch.Count / 2)
                {
                    halfScheduled.Signal();
                }

                (Dispatcher.Schedule(batch[i]) ? accepted : rejected).Enqueue(batch[i]);
            }
        })).ToList();
        Assert.True(halfScheduled.Wait(TestTimeout), "The scheduling threads did not reach half of their items.");
        var stop = Dispatcher.StopAsync();
        await Task.WhenAll(schedulers).WaitAsync(TestTimeout);
        await stop.WaitAsync(TestTimeout);

        // An accepted item either ran once or was handed back once. A rejected one did neither.
        Assert.Equal(threads * itemsPerThread, accepted.Count + rejected.Count);
        foreach (var item in accepted)
        {
            Assert.True(item.StartCount + item.Removals.Count == 1, $"{item.Id} started {item.StartCount} times and was removed {item.Removals.Count} times.");
            Assert.All(item.Removals, reason => Assert.Equal(LaneRemovalReason.Shutdown, reason));
        }

        Assert.All(rejected, item => Assert.False(item.HasStarted));
        Assert.All(rejected, item => Assert.Empty(item.Removals));
        Assert.Equal(0, Snapshot().Queued);
        Assert.Equal(0, Snapshot().Active);
        Assert.Equal(accepted.Count(item => item.HasStarted), Snapshot().Completed);
    }

    [Fact]
    public async Task StopAsync_RunnersDraining_NothingStartsAfter()
    {
        const int rounds = 30;
        const int itemsPerRound = 5_000;
        var options = new LaneDispatcherOptions { ShutdownGracePeriod = GracePeriod };
        var limits = new Dictionary<string, int>(StringComparer.Ordinal) { [Lane] = 3 };
        for (var round = 0; round < rounds; round++)
        {
            var dispatcher = new LaneDispatcher(limits, options, _time, _loggerFactory.CreateLogger<LaneDispatcher>());
            var stopReturned = new StrongBox<bool>();
            var items = Enumerable.Range(0, itemsPerRound).Select(_ => new StopWatchingItem(Lane, stopReturned)).ToList();
            foreach (var item in items)
            {
                Assert.True(dispatcher.Schedule(item));
            }

            // Three runners take items without the lock while the stop begins.
            await dispatcher.StopAsync().WaitAsync(TestTimeout);
            Volatile.Write(ref stopReturned.Value, true);
            var snapshot = dispatcher.GetSnapshot(Lane)!;
            await Task.Delay(10);
            await dispatcher.DisposeAsync();

            Assert.All(items, item => Assert.True(item.Starts + item.Removals == 1, $"Round {round}: an item started {item.Starts} times and was handed back {item.Removals} times."));
            Assert.DoesNotContain(items, item => item.StartedAfterStop);
            Assert.Equal(items.Count(item => item.Starts == 1), snapshot.Completed);
            Assert.Equal(0, snapshot.Active);
            Assert.Equal(0, snapshot.Queued);
        }
    }

    [Fact]
    public async Task StopAsync_Idle_CompletesAndRejectsLaterWork()
    {
        CreateDispatcher(limit: 1);

        await Dispatcher.StopAsync().WaitAsync(TestTimeout);

        var late = NewItem("late");
        Assert.False(Dispatcher.Schedule(late));
        await SettleAsync();
        Assert.False(late.HasStarted);
        Assert.Empty(late.Removals);
        Assert.Equal(0, Snapshot().Queued);
    }

    [Fact]
    public async Task Schedule_GraceItemWhileStopping_RunsForHolder()
    {
        CreateDispatcher(limit: 1);
        var (holder, otherBlocker) = await StartHolderBesideFullOtherLaneAsync();

        var stop = Dispatcher.StopAsync();
        var plain = NewItem("plain", lane: OtherLane);
        var synthesis = NewItem("synthesis", lane: OtherLane, runsDuringGrace: true);

        Assert.False(Dispatcher.Schedule(plain, holder));
        Assert.True(Dispatcher.Schedule(synthesis, holder));

        // It starts although its lane is full, because nothing else starts there any more.
        Assert.True(await synthesis.Finished.WaitAsync(TestTimeout));
        Assert.False(plain.HasStarted);
        Assert.False(stop.IsCompleted);

        await holder.ReleaseAsync();
        await otherBlocker.ReleaseAsync();
        await stop.WaitAsync(TestTimeout);

        Assert.DoesNotContain(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
        Assert.Equal(2, Dispatcher.GetSnapshot(OtherLane)!.Completed);
    }

    [Fact]
    public async Task Schedule_GraceItemAfterGracePeriod_ReturnsFalse()
    {
        CreateDispatcher(limit: 1);
        var holder = NewItem("holder", body: WaitForShutdownAsync);
        Dispatcher.Schedule(holder);
        await holder.Started.WaitAsync(TestTimeout);

        var stop = Dispatcher.StopAsync();
        _time.Advance(GracePeriod);
        await stop.WaitAsync(TestTimeout);
        var synthesis = NewItem("synthesis", lane: OtherLane, runsDuringGrace: true);

        Assert.False(Dispatcher.Schedule(synthesis, holder));
        await SettleAsync();
        Assert.False(synthesis.HasStarted);
        Assert.Empty(synthesis.Removals);
    }

    [Fact]
    public async Task StopAsync_WaitingGraceItem_Starts()
    {
        CreateDispatcher(limit: 1);
        var (holder, otherBlocker) = await StartHolderBesideFullOtherLaneAsync();
        var synthesis = NewItem("synthesis", lane: OtherLane, runsDuringGrace: true);
        var plain = NewItem("plain", lane: OtherLane);
        Assert.True(Dispatcher.Schedule(synthesis, holder));
        Assert.True(Dispatcher.Schedule(plain));
        Assert.Equal(2, Dispatcher.GetSnapshot(OtherLane)!.Queued);

        var stop = Dispatcher.StopAsync();

        Assert.True(await synthesis.Finished.WaitAsync(TestTimeout));
        Assert.Empty(synthesis.Removals);
        Assert.Equal(LaneRemovalReason.Shutdown, await plain.Removed.WaitAsync(TestTimeout));
        Assert.False(plain.HasStarted);

        await holder.ReleaseAsync();
        await otherBlocker.ReleaseAsync();
        await stop.WaitAsync(TestTimeout);
        Assert.DoesNotContain(_logs.Entries, entry => entry.EventId.Id == GraceExpiredEventId);
    }

    [Fact]
    public async Task Schedule_GraceItemAfterDrainedStop_ReturnsFalse()
    {
        CreateDispatcher(limit: 1);
        var holder = NewItem("holder");
        Dispatcher.Schedule(holder);
        Assert.True(await holder.Finished.WaitAsync(TestTimeout));
        await Dispatcher.StopAsync().WaitAsync(TestTimeout);
        var synthesis = NewItem("synthesis", lane: OtherLane, runsDuringGrace: true);

        Assert.False(Dispatcher.Schedule(synthesis, holder));

        await SettleAsync();
        Assert.False(synthesis.HasStarted);
    }

    [Fact]
    public async Task Schedule_CancelledTokenWhileStopping_ReturnsFalseWithoutCallback()
    {
        CreateDispatcher(limit: 1);
        await Dispatcher.StopAsync().WaitAsync(TestTimeout);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        var late = NewItem("late", cancellationToken: cancellation.Token);

        Assert.False(Dispatcher.Schedule(late));

        Assert.Empty(late.Removals);
    }

    // Metrics.

    [Fact]
    public async Task Metrics_RunAndWaitTimes_FollowTheClock()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var listener = new LaneMeasurements(meterFactory);
        CreateDispatcher(limit: 1, metrics: new LaneMetrics(meterFactory));

        var blocker = await StartBlockerAsync();
        _time.Advance(TimeSpan.FromMilliseconds(40));
        Dispatcher.Schedule(NewItem("waits-60-ms"));
        _time.Advance(TimeSpan.FromMilliseconds(60));
        await blocker.ReleaseAsync();
        await WaitUntilAsync(() => Snapshot().Completed == 2, "both items are counted");

        // The blocker waited 0 ms and ran 100 ms. The second item waited 60 ms and ran in 0 ms.
        Assert.Equal([0.0, 60.0], listener.Values("agentapi.lane.wait_time").Order());
        Assert.Equal([0.0, 100.0], listener.Values("agentapi.lane.run_time").Order());
        Assert.Equal([1.0, 1.0], listener.Values("agentapi.lane.finished"));
    }

    [Fact]
    public async Task Metrics_DeferredOutcome_CountedOnArrival()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var listener = new LaneMeasurements(meterFactory);
        CreateDispatcher(limit: 1, metrics: new LaneMetrics(meterFactory));
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deferring = NewItem("deferring", gated: true, deferredOutcome: outcome.Task);
        Dispatcher.Schedule(deferring);
        await deferring.Started.WaitAsync(TestTimeout);

        _time.Advance(TimeSpan.FromMilliseconds(30));
        await deferring.ReleaseAsync();
        await deferring.Finished.WaitAsync(TestTimeout);
        await WaitUntilAsync(() => listener.Values("agentapi.lane.run_time").Count == 1, "the run time is recorded");
        _time.Advance(TimeSpan.FromMilliseconds(50));
        await SettleAsync();
        Assert.Empty(listener.Values("agentapi.lane.finished"));

        outcome.SetResult(true);

        await WaitUntilAsync(() => Snapshot().Completed == 1, "the deferred outcome is counted");
        Assert.Equal([30.0], listener.Values("agentapi.lane.run_time"));
        Assert.Equal([1.0], listener.Values("agentapi.lane.finished"));
    }

    [Fact]
    public async Task Metrics_NotStarted_KeepsWaitOnly()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var listener = new LaneMeasurements(meterFactory);
        CreateDispatcher(limit: 1, metrics: new LaneMetrics(meterFactory));
        var blocker = await StartBlockerAsync();
        var notStarted = NewItem("not-started", reportsNotStarted: true);
        Dispatcher.Schedule(notStarted);
        _time.Advance(TimeSpan.FromMilliseconds(20));

        await blocker.ReleaseAsync();
        await notStarted.Finished.WaitAsync(TestTimeout);
        await WaitUntilAsync(() => Snapshot().Completed == 1, "the blocker is counted as completed");
        await SettleAsync();

        // The lane recorded the item's 20 ms wait when it gave the item a slot, before the item
        // reported that it did not start. Only the blocker ran and finished.
        Assert.Equal([0.0, 20.0], listener.Values("agentapi.lane.wait_time").Order());
        Assert.Equal([20.0], listener.Values("agentapi.lane.run_time"));
        Assert.Equal([1.0], listener.Values("agentapi.lane.finished"));
        Assert.Equal(0, Snapshot().Failed);
    }

    // Helpers.

    /// <summary>Counts the <see cref="CountingItem"/> objects that ran.</summary>
    private sealed class RunCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Increment() => Interlocked.Increment(ref _count);
    }

    /// <summary>
    /// An item that completes synchronously and records its starts, its hand-backs and whether it
    /// started after StopAsync returned, as recorded in <paramref name="stopReturned"/>.
    /// </summary>
    private sealed class StopWatchingItem(string lane, StrongBox<bool> stopReturned) : LaneWorkItem(lane, sessionKey: null, LanePriority.Default, CancellationToken.None)
    {
        private int _starts;
        private int _removals;

        public override string Id => "stop-watching";

        public int Starts => Volatile.Read(ref _starts);

        public int Removals => Volatile.Read(ref _removals);

        public bool StartedAfterStop { get; private set; }

        protected internal override ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
        {
            StartedAfterStop |= Volatile.Read(ref stopReturned.Value);
            Interlocked.Increment(ref _starts);
            return ValueTask.FromResult(true);
        }

        protected internal override void OnRemoved(LaneRemovalReason reason) => Interlocked.Increment(ref _removals);
    }

    /// <summary>An item that counts itself and completes synchronously, lighter than a <see cref="TestWorkItem"/> for loops of many items.</summary>
    private sealed class CountingItem(string lane, RunCounter counter) : LaneWorkItem(lane, sessionKey: null, LanePriority.Default, CancellationToken.None)
    {
        public override string Id => "counting";

        protected internal override ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
        {
            counter.Increment();
            return ValueTask.FromResult(true);
        }
    }


    private void CreateDispatcher(int limit, TimeSpan? ageingInterval = null, LaneMetrics? metrics = null)
    {
        var options = new LaneDispatcherOptions
        {
            AgeingInterval = ageingInterval ?? AgeingInterval,
            WaitLogThreshold = WaitLogThreshold,
            ShutdownGracePeriod = GracePeriod,
        };
        var limits = new Dictionary<string, int>(StringComparer.Ordinal) { [Lane] = limit, [OtherLane] = 1 };
        _dispatcher = new LaneDispatcher(limits, options, _time, _loggerFactory.CreateLogger<LaneDispatcher>(), metrics);
    }

    private TestWorkItem NewItem(
        string id,
        string lane = Lane,
        string? sessionKey = null,
        LanePriority priority = LanePriority.Default,
        CancellationToken cancellationToken = default,
        bool gated = false,
        Func<TestWorkItem, CancellationToken, Task<bool>>? body = null,
        StartRecorder? recorder = null,
        Task<bool>? deferredOutcome = null,
        bool reportsNotStarted = false,
        bool runsDuringGrace = false)
    {
        var item = new TestWorkItem(id, lane, sessionKey, priority, cancellationToken, gated, body, recorder, deferredOutcome, reportsNotStarted)
        {
            RunsDuringGrace = runsDuringGrace,
        };
        _items.Enqueue(item);
        return item;
    }

    /// <summary>Fills the other lane's one slot with a gated item, then starts a gated holder in the lane.</summary>
    private async Task<(TestWorkItem Holder, TestWorkItem OtherBlocker)> StartHolderBesideFullOtherLaneAsync()
    {
        var otherBlocker = NewItem("other-blocker", lane: OtherLane, gated: true);
        Dispatcher.Schedule(otherBlocker);
        await otherBlocker.Started.WaitAsync(TestTimeout);
        var holder = NewItem("holder", gated: true);
        Dispatcher.Schedule(holder);
        await holder.Started.WaitAsync(TestTimeout);
        return (holder, otherBlocker);
    }

    private void ScheduleAll(IEnumerable<TestWorkItem> items)
    {
        foreach (var item in items)
        {
            Assert.True(Dispatcher.Schedule(item), $"Schedule rejected {item.Id}.");
        }
    }

    /// <summary>Runs an item that defers <paramref name="outcome"/>, and returns it once its ExecuteAsync has returned.</summary>
    private async Task<TestWorkItem> RunDeferringAsync(Task<bool> outcome)
    {
        var deferring = NewItem("deferring", deferredOutcome: outcome);
        Assert.True(Dispatcher.Schedule(deferring));
        await deferring.Finished.WaitAsync(TestTimeout);
        return deferring;
    }

    /// <summary>Starts a gated item that takes one slot of the lane until it is released.</summary>
    private async Task<TestWorkItem> StartBlockerAsync()
    {
        var blocker = NewItem("blocker", gated: true);
        Assert.True(Dispatcher.Schedule(blocker));
        await blocker.Started.WaitAsync(TestTimeout);
        return blocker;
    }

    /// <summary>
    /// Schedules "first" behind a blocker at limit 1, lets the clock run for <paramref name="wait"/>,
    /// schedules "later", releases the blocker and returns the order in which the two started.
    /// </summary>
    private async Task<IReadOnlyList<string>> RunAfterWaitAsync(LanePriority first, TimeSpan wait, LanePriority later, TimeSpan? ageingInterval = null)
    {
        CreateDispatcher(limit: 1, ageingInterval);
        var blocker = await StartBlockerAsync();
        var recorder = new StartRecorder();
        var firstItem = NewItem("first", priority: first, recorder: recorder);
        Dispatcher.Schedule(firstItem);
        _time.Advance(wait);
        var laterItem = NewItem("later", priority: later, recorder: recorder);
        Dispatcher.Schedule(laterItem);

        await blocker.ReleaseAsync();
        await Task.WhenAll(firstItem.Finished, laterItem.Finished).WaitAsync(TestTimeout);
        return recorder.Order;
    }

    private LaneSnapshot Snapshot() => Dispatcher.GetSnapshot(Lane) ?? throw new InvalidOperationException($"Lane '{Lane}' has no snapshot.");

    private List<CapturedLog> LongWaitLogs() => _logs.Entries.Where(entry => entry.EventId.Id == LongWaitEventId).ToList();

    /// <summary>Gives a wrong dispatcher time to start something it should not, before a negative assertion.</summary>
    private static Task SettleAsync() => Task.Delay(50);

    private static async Task WaitUntilAsync(Func<bool> condition, string expectation)
    {
        var elapsed = Stopwatch.StartNew();
        while (!condition())
        {
            if (elapsed.Elapsed > TestTimeout)
            {
                Assert.Fail($"Timed out after {TestTimeout.TotalSeconds} s waiting until {expectation}.");
            }

            await Task.Delay(5);
        }
    }

    private static async Task<bool> YieldOnceAsync(TestWorkItem item, CancellationToken shutdownToken)
    {
        await Task.Yield();
        return true;
    }

    private static async Task<bool> DelayOneMillisecondAsync(TestWorkItem item, CancellationToken shutdownToken)
    {
        await Task.Delay(1, CancellationToken.None);
        return true;
    }

    private static async Task<bool> WaitForOwnCancellationAsync(TestWorkItem item, CancellationToken shutdownToken)
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, item.CancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<bool> WaitForShutdownAsync(TestWorkItem item, CancellationToken shutdownToken)
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, shutdownToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>
/// Collects the lane histograms and counters of one meter factory, so that lanes of other tests
/// running at the same time are not counted.
/// </summary>
internal sealed class LaneMeasurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value)> _measurements = new();

    public LaneMeasurements(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LaneMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _measurements.Enqueue((instrument.Name, value)));
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _measurements.Enqueue((instrument.Name, value)));
        _listener.Start();
    }

    public IReadOnlyList<double> Values(string instrument) =>
        _measurements.Where(measurement => measurement.Instrument == instrument).Select(measurement => measurement.Value).ToList();

    public void Dispose() => _listener.Dispose();
}

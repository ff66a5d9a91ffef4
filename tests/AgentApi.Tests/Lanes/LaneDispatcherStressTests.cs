using System.Collections.Concurrent;
using System.Diagnostics;
using AgentApi.Lanes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Lanes;

/// <summary>
/// Stress tests for the lane dispatcher on the system clock: several threads schedule thousands of
/// synchronous and briefly asynchronous items while other threads change the limit, cancel items,
/// read snapshots or stop the dispatcher. Each test repeats its run <see cref="Rounds"/> times on a
/// fresh dispatcher, because the races it looks for are rare in a single run.
/// </summary>
public sealed class LaneDispatcherStressTests
{
    private const string Lane = "stress";
    private const int Rounds = 10;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(5);

    // Limits.

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Limit_ManySchedulers_NeverExceeded(int limit)
    {
        const int threads = 4;
        const int itemsPerThread = 1_000;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit);
            var probe = new StressProbe(threads * itemsPerThread);
            var items = new StressItem[threads * itemsPerThread];

            await RunOnThreadsAsync(threads, thread =>
            {
                for (var i = 0; i < itemsPerThread; i++)
                {
                    var index = (thread * itemsPerThread) + i;
                    items[index] = new StressItem(probe, index, work: WorkFor(i), outcome: OutcomeFor(i));
                    Assert.True(dispatcher.Schedule(items[index]), $"Round {round}: Schedule rejected item {index}.");
                    PauseNow(i);
                }
            });

            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, items);
            await StopAsync(dispatcher);

            Assert.InRange(probe.MaxRunning, 1, limit);
            AssertNone(NotRunOnce(items), round);
            AssertSettled(snapshot, probe);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Limit_ChangingUpAndDown_NeverExceeded(int startLimit)
    {
        const int threads = 3;
        const int itemsPerThread = 1_500;
        int[] limits = [3, 0, 8, 1, 0, 2, 5, 1, 4, 0, 8, 2];
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(startLimit);
            var probe = new StressProbe(threads * itemsPerThread);
            var items = new StressItem[threads * itemsPerThread];
            using var schedulersDone = new CountdownEvent(threads);

            // The changer sets each limit, waits until the lane reports no more running items than
            // that limit, and from then on until the next change every item that starts checks the
            // count of running items against it. Limit 0 must then start nothing at all.
            var changer = RunLongAsync(() =>
            {
                var step = 0;
                while (!schedulersDone.IsSet || step < limits.Length)
                {
                    var limit = limits[step++ % limits.Length];
                    probe.EnforcedLimit = int.MaxValue;
                    Assert.True(dispatcher.TrySetLimit(Lane, limit));
                    var waited = Stopwatch.StartNew();
                    while (dispatcher.GetSnapshot(Lane)!.Active > limit)
                    {
                        Assert.True(waited.Elapsed < Timeout, $"Round {round}: the lane kept more than {limit} running items.");
                        Thread.Yield();
                    }

                    probe.EnforcedLimit = limit;
                    Thread.Sleep(1);
                }

                probe.EnforcedLimit = int.MaxValue;
                Assert.True(dispatcher.TrySetLimit(Lane, 3));
            });

            await RunOnThreadsAsync(threads, thread =>
            {
                for (var i = 0; i < itemsPerThread; i++)
                {
                    var index = (thread * itemsPerThread) + i;
                    items[index] = new StressItem(probe, index, work: WorkFor(i));
                    Assert.True(dispatcher.Schedule(items[index]), $"Round {round}: Schedule rejected item {index}.");
                    PauseNow(i);
                }

                schedulersDone.Signal();
            });
            await changer.WaitAsync(Timeout);

            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, items);
            await StopAsync(dispatcher);

            Assert.InRange(probe.MaxRunning, 1, limits.Max());
            AssertNone(probe.Violations, round);
            AssertNone(NotRunOnce(items), round);
            AssertSettled(snapshot, probe);
        }
    }

    // Accounting of accepted and rejected items.

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public async Task Items_CancelledWhileScheduling_RunOrLeaveOnce(int limit)
    {
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit);
            var load = new MixedLoad(dispatcher, threads: 4, itemsPerThread: 1_000);

            await load.RunAsync(stopAfterScheduled: null);
            var snapshot = await WaitUntilSettledAsync(dispatcher, load.Probe, load.Accepted);
            await StopAsync(dispatcher);
            load.Dispose();

            Assert.Empty(load.Rejected);
            AssertNone(RanOrLeftOtherThanOnce(load.Accepted, LaneRemovalReason.Cancelled), round);
            AssertNone(load.Probe.Violations, round);
            Assert.True(load.Accepted.Count(item => item.Removals > 0) > 0, $"Round {round}: no item was cancelled while it waited, so the test covered no removal.");
            AssertSettled(snapshot, load.Probe);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task StopAsync_HeavyLoad_AccountsForEveryItem(int limit)
    {
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit);
            var load = new MixedLoad(dispatcher, threads: 4, itemsPerThread: 1_500);

            await load.RunAsync(stopAfterScheduled: 2_000);

            // Gives a runner that missed the stop the time to start an item it should not.
            await Task.Delay(20);
            var snapshot = dispatcher.GetSnapshot(Lane)!;
            await dispatcher.DisposeAsync();
            load.Dispose();

            Assert.Equal(0, load.Probe.StartsAfterStop);
            AssertNone(RanOrLeftOtherThanOnce(load.Accepted, LaneRemovalReason.Cancelled, LaneRemovalReason.Shutdown), round);
            AssertNone(load.Rejected.Where(item => item.Starts != 0 || item.Removals != 0).Select(item => item.Describe()), round);
            AssertNone(load.Probe.Violations, round);
            AssertSettled(snapshot, load.Probe);
        }
    }

    // Nested items.

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Borrowed_HolderWaitsForChild_ChildRunsOnItsSlot(int limit)
    {
        const int threads = 3;
        const int holdersPerThread = 300;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit);
            var probe = new StressProbe(threads * holdersPerThread);
            var nestedProbe = new StressProbe(threads * holdersPerThread);
            var holders = new StressItem[threads * holdersPerThread];
            var children = new ConcurrentDictionary<int, StressItem>();

            // Each holder schedules a child on its own slot and waits for it. A full lane that did
            // not find the holder running would queue the child behind it, and at limit 1 the wait
            // would time out.
            await RunOnThreadsAsync(threads, thread =>
            {
                for (var i = 0; i < holdersPerThread; i++)
                {
                    var index = (thread * holdersPerThread) + i;
                    var sessionKey = i % 4 == 0 ? $"thread-{thread}" : null;
                    holders[index] = new StressItem(probe, index, sessionKey: sessionKey, sessionOrdinal: i + 1, body: async holder =>
                    {
                        if (holder.Index % 2 == 0)
                        {
                            await Task.Yield();
                        }

                        var child = new StressItem(nestedProbe, holder.Index, work: WorkFor(holder.Index));
                        children[holder.Index] = child;
                        Assert.True(dispatcher.Schedule(child, holder));
                        await child.Done.WaitAsync(TimeSpan.FromSeconds(5));
                    });
                    Assert.True(dispatcher.Schedule(holders[index]), $"Round {round}: Schedule rejected holder {index}.");
                    PauseNow(i);
                }
            });

            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, holders, nestedProbe);
            await StopAsync(dispatcher);

            Assert.Equal(0, probe.Failed);
            Assert.Equal(holders.Length, children.Count);
            Assert.InRange(probe.MaxRunning, 1, limit);
            AssertNone(probe.Violations, round);
            AssertNone(NotRunOnce(holders), round);
            AssertNone(NotRunOnce(children.Values), round);
            AssertSettled(snapshot, probe, nestedProbe);
        }
    }

    // Sessions.

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Sessions_ManyThreads_RunInOrderOneAtATime(int limit)
    {
        const int threads = 4;
        const int itemsPerThread = 800;
        const int keysPerThread = 4;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit);
            var probe = new StressProbe(threads * itemsPerThread);
            var items = new StressItem[threads * itemsPerThread];

            // Each key belongs to one thread, so that its scheduling order is that thread's order.
            await RunOnThreadsAsync(threads, thread =>
            {
                var ordinals = new int[keysPerThread];
                for (var i = 0; i < itemsPerThread; i++)
                {
                    var index = (thread * itemsPerThread) + i;
                    var key = i % keysPerThread;
                    items[index] = i % 3 == 0
                        ? new StressItem(probe, index, work: WorkFor(i))
                        : new StressItem(probe, index, sessionKey: $"thread-{thread}-key-{key}", sessionOrdinal: ++ordinals[key], work: WorkFor(i), outcome: OutcomeFor(i));
                    Assert.True(dispatcher.Schedule(items[index]), $"Round {round}: Schedule rejected item {index}.");
                    PauseNow(i);
                }
            });

            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, items);
            await StopAsync(dispatcher);

            AssertNone(probe.Violations, round);
            Assert.InRange(probe.MaxRunning, 1, limit);
            AssertNone(NotRunOnce(items), round);
            AssertSettled(snapshot, probe);
        }
    }

    [Fact]
    public async Task Sessions_KeyHeld_PlainItemsRunAlongside()
    {
        const int plainItems = 300;
        const int sessionItems = 20;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit: 2);
            var probe = new StressProbe(1 + sessionItems + plainItems);
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var blocker = new StressItem(probe, 0, sessionKey: "blocked", sessionOrdinal: 1, body: _ => new ValueTask(gate.Task));
            Assert.True(dispatcher.Schedule(blocker));
            await WaitUntilAsync(() => blocker.Starts == 1, $"Round {round}: the first item of the session did not start.");

            var followers = Enumerable.Range(1, sessionItems)
                .Select(i => new StressItem(probe, i, sessionKey: "blocked", sessionOrdinal: i + 1, work: WorkFor(i)))
                .ToList();
            var plain = Enumerable.Range(1 + sessionItems, plainItems)
                .Select(i => new StressItem(probe, i, work: WorkFor(i)))
                .ToList();
            await RunOnThreadsAsync(2, thread =>
            {
                foreach (var item in thread == 0 ? followers : plain)
                {
                    Assert.True(dispatcher.Schedule(item), $"Round {round}: Schedule rejected item {item.Index}.");
                }
            });

            // While the session's first item runs on one slot, plain items run on the other.
            await WaitUntilAsync(() => plain.All(item => item.Finished), $"Round {round}: plain items did not all run while a session item ran.");
            var followersStartedEarly = followers.Count(item => item.Starts > 0);
            gate.SetResult();
            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, [blocker, .. followers, .. plain]);
            await StopAsync(dispatcher);

            Assert.Equal(0, followersStartedEarly);
            AssertNone(probe.Violations, round);
            AssertNone(NotRunOnce([blocker, .. followers, .. plain]), round);
            AssertSettled(snapshot, probe);
        }
    }

    // Priority and order.

    [Fact]
    public async Task Priority_PausedThenRaised_StartsByPriority()
    {
        const int threads = 4;
        const int itemsPerThread = 750;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit: 0, checkLongWaits: false);
            var probe = new StressProbe(threads * itemsPerThread);
            var items = new StressItem[threads * itemsPerThread];

            // Within one thread and one priority, items must start in the thread's scheduling order.
            await RunOnThreadsAsync(threads, thread =>
            {
                for (var i = 0; i < itemsPerThread; i++)
                {
                    var index = (thread * itemsPerThread) + i;
                    var priority = (LanePriority)((thread + i) % 3);
                    items[index] = new StressItem(probe, index, priority: priority, work: WorkFor(i));
                    Assert.True(dispatcher.Schedule(items[index]), $"Round {round}: Schedule rejected item {index}.");
                }
            });
            Assert.Equal(0, probe.Starts);

            Assert.True(dispatcher.TrySetLimit(Lane, 1));
            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, items);
            await StopAsync(dispatcher);

            var order = probe.StartOrder.Select(index => items[index]).ToList();
            var outOfPriority = order.Zip(order.Skip(1)).Where(pair => pair.First.Priority > pair.Second.Priority).Select(pair => $"{pair.First.Describe()} before {pair.Second.Describe()}");
            AssertNone(outOfPriority, round);
            AssertNone(OutOfSchedulingOrder(order, item => (item.Index / itemsPerThread, item.Priority)), round);
            Assert.Equal(1, probe.MaxRunning);
            AssertNone(NotRunOnce(items), round);
            AssertSettled(snapshot, probe);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Priority_HighFromRunningItem_StartsNext(bool readSnapshots)
    {
        const int parents = 600;
        const int backgroundThreads = 2;
        const int backgroundPerThread = 1_000;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit: 0, checkLongWaits: false);
            var probe = new StressProbe(parents + (parents / 3) + (backgroundThreads * backgroundPerThread));
            var scheduled = false;

            // The reader takes snapshots until every item has run, as GET /api/lanes and the metrics gauges may.
            var reader = RunLongAsync(() =>
            {
                while (readSnapshots && !Volatile.Read(ref scheduled))
                {
                    _ = dispatcher.GetSnapshot(Lane);
                }
            });
            var children = new ConcurrentDictionary<int, StressItem>();
            var nextIndex = parents;

            // Every third default item schedules a high item from inside its run, half of them
            // after an await so that the schedule comes from another thread.
            var items = Enumerable.Range(0, parents)
                .Select(i => i % 3 != 0
                    ? new StressItem(probe, i, work: WorkFor(i))
                    : new StressItem(probe, i, body: async parent =>
                    {
                        if (parent.Index % 2 == 0)
                        {
                            await Task.Yield();
                        }

                        var child = new StressItem(probe, Interlocked.Increment(ref nextIndex), priority: LanePriority.High);
                        children[parent.Index] = child;
                        Assert.True(dispatcher.Schedule(child));
                    }))
                .ToList();
            foreach (var item in items)
            {
                Assert.True(dispatcher.Schedule(item));
            }

            // Other threads keep adding default items while the lane runs.
            Assert.True(dispatcher.TrySetLimit(Lane, 1));
            var background = new StressItem[backgroundThreads * backgroundPerThread];
            await RunOnThreadsAsync(backgroundThreads, thread =>
            {
                for (var i = 0; i < backgroundPerThread; i++)
                {
                    var index = Interlocked.Increment(ref nextIndex);
                    background[(thread * backgroundPerThread) + i] = new StressItem(probe, index, work: WorkFor(i));
                    Assert.True(dispatcher.Schedule(background[(thread * backgroundPerThread) + i]));
                    PauseNow(i);
                }
            });

            await WaitUntilAsync(() => children.Count == parents / 3, $"Round {round}: not every parent scheduled its child.");
            await WaitUntilAsync(() => items.All(item => item.Finished) && background.All(item => item.Finished), $"Round {round}: not every item ran.");
            Volatile.Write(ref scheduled, true);
            await reader.WaitAsync(Timeout);
            var all = items.Concat(children.Values).Concat(background).ToList();
            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, all);
            await StopAsync(dispatcher);

            var order = probe.StartOrder;
            var position = order.Select((index, place) => (index, place)).ToDictionary(pair => pair.index, pair => pair.place);
            var lateChildren = children
                .Where(pair => position[pair.Value.Index] != position[pair.Key] + 1)
                .Select(pair => $"child of {pair.Key} started {position[pair.Value.Index] - position[pair.Key]} places after it");
            AssertNone(lateChildren, round);
            AssertNone(NotRunOnce(all), round);
            AssertSettled(snapshot, probe);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Order_LimitOne_KeepsSchedulingOrder(bool readSnapshots)
    {
        const int items = 20_000;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit: 0, checkLongWaits: false);
            var probe = new StressProbe(items);
            var all = new StressItem[items];

            // Half the items wait in the paused lane, so that the runner finds a long queue, and
            // the other half arrive while it runs.
            for (var i = 0; i < items; i++)
            {
                all[i] = new StressItem(probe, i, work: i % 64 == 0 ? StressWork.Yield : StressWork.Synchronous);
            }

            foreach (var item in all.Take(items / 2))
            {
                Assert.True(dispatcher.Schedule(item));
            }

            // GetSnapshot reads the oldest waiting item of each level under the lock, as
            // GET /api/lanes, the metrics gauges and the long-wait log do.
            var reader = RunLongAsync(() =>
            {
                var elapsed = Stopwatch.StartNew();
                while (readSnapshots && probe.Starts < items && elapsed.Elapsed < Timeout)
                {
                    _ = dispatcher.GetSnapshot(Lane);
                }
            });

            Assert.True(dispatcher.TrySetLimit(Lane, 1));
            foreach (var item in all.Skip(items / 2))
            {
                Assert.True(dispatcher.Schedule(item));
            }

            await reader.WaitAsync(Timeout);
            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, all);
            await StopAsync(dispatcher);

            var order = probe.StartOrder;
            var swaps = order.Zip(order.Skip(1)).Where(pair => pair.First > pair.Second).Select(pair => $"item {pair.First} before item {pair.Second}");
            AssertNone(swaps, round);
            AssertNone(NotRunOnce(all), round);
            AssertSettled(snapshot, probe);
        }
    }

    // Snapshots.

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Snapshot_DuringRun_CountsNeverDecrease(int limit)
    {
        const int threads = 3;
        const int itemsPerThread = 1_500;
        for (var round = 0; round < Rounds; round++)
        {
            var dispatcher = CreateDispatcher(limit);
            var probe = new StressProbe(threads * itemsPerThread);
            var items = new StressItem[threads * itemsPerThread];
            var scheduled = false;
            var snapshotProblems = new ConcurrentQueue<string>();

            var reader = RunLongAsync(() =>
            {
                var previous = dispatcher.GetSnapshot(Lane)!;
                while (!Volatile.Read(ref scheduled) || previous.Completed + previous.Failed < probe.Counted)
                {
                    var current = dispatcher.GetSnapshot(Lane)!;
                    if (current.Completed < previous.Completed || current.Failed < previous.Failed)
                    {
                        snapshotProblems.Enqueue($"counts fell from {previous.Completed} completed and {previous.Failed} failed to {current.Completed} and {current.Failed}");
                    }

                    if (current.Active > limit || current.Active < 0 || current.Queued < 0)
                    {
                        snapshotProblems.Enqueue($"{current.Active} active and {current.Queued} queued at limit {limit}");
                    }

                    previous = current;
                    Thread.Yield();
                }
            });

            await RunOnThreadsAsync(threads, thread =>
            {
                for (var i = 0; i < itemsPerThread; i++)
                {
                    var index = (thread * itemsPerThread) + i;
                    var outcome = OutcomeFor(i);
                    var sessionKey = i % 5 == 0 ? $"thread-{thread}" : null;
                    items[index] = new StressItem(probe, index, sessionKey: sessionKey, sessionOrdinal: i + 1, work: WorkFor(i), outcome: outcome);
                    Assert.True(dispatcher.Schedule(items[index]), $"Round {round}: Schedule rejected item {index}.");
                    PauseNow(i);
                }
            });

            Volatile.Write(ref scheduled, true);
            var snapshot = await WaitUntilSettledAsync(dispatcher, probe, items);
            await reader.WaitAsync(Timeout);
            await StopAsync(dispatcher);

            AssertNone(snapshotProblems, round);
            AssertNone(probe.Violations, round);
            AssertNone(NotRunOnce(items), round);
            Assert.True(probe.Failed > 0, "No item failed, so the test covered no failed count.");
            Assert.True(probe.NotStarted > 0, "No item reported that it did not start, so the test covered no such item.");
            AssertSettled(snapshot, probe);
        }
    }

    // Helpers.

    /// <summary>
    /// Creates a dispatcher with one lane on the system clock. Without <paramref name="checkLongWaits"/>
    /// the once-a-second long-wait check is off.
    /// </summary>
    private static LaneDispatcher CreateDispatcher(int limit, bool checkLongWaits = true) => new(
        new Dictionary<string, int>(StringComparer.Ordinal) { [Lane] = limit },
        new LaneDispatcherOptions
        {
            ShutdownGracePeriod = GracePeriod,
            WaitLogThreshold = checkLongWaits ? TimeSpan.FromSeconds(2) : TimeSpan.Zero,
        },
        TimeProvider.System,
        NullLogger<LaneDispatcher>.Instance);

    private static async Task StopAsync(LaneDispatcher dispatcher)
    {
        await dispatcher.StopAsync().WaitAsync(Timeout);
        await dispatcher.DisposeAsync();
    }

    /// <summary>Mostly synchronous items, with every fifth one awaiting a thread pool hop and a few awaiting a 1 ms timer.</summary>
    private static StressWork WorkFor(int i) =>
        i % 97 == 13 ? StressWork.Delay
        : i % 5 == 0 ? StressWork.Yield
        : i % 2 == 0 ? StressWork.Spin
        : StressWork.Synchronous;

    /// <summary>Mostly successful runs, with some of every other outcome, deferred ones and not started ones included.</summary>
    private static StressOutcome OutcomeFor(int i) => (i % 29) switch
    {
        3 or 17 => StressOutcome.Fail,
        5 => StressOutcome.Throw,
        8 or 21 => StressOutcome.DeferSuccess,
        11 => StressOutcome.DeferFailure,
        14 or 26 => StressOutcome.NotStarted,
        _ => StressOutcome.Succeed,
    };

    /// <summary>Lets a scheduling thread fall behind now and then, so that runners run dry and give back their slots.</summary>
    private static void PauseNow(int i)
    {
        if (i % 16 == 15)
        {
            Thread.Yield();
        }
    }

    /// <summary>Runs <paramref name="body"/> on that many dedicated threads, released together, and waits for all of them.</summary>
    private static async Task RunOnThreadsAsync(int count, Action<int> body)
    {
        using var start = new Barrier(count);
        var threads = Enumerable.Range(0, count)
            .Select(thread => RunLongAsync(() =>
            {
                start.SignalAndWait();
                body(thread);
            }))
            .ToList();
        await Task.WhenAll(threads).WaitAsync(Timeout);
    }

    /// <summary>Runs <paramref name="body"/> on a dedicated thread, so that it does not take a thread pool thread from the runners.</summary>
    private static Task RunLongAsync(Action body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var elapsed = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(elapsed.Elapsed < Timeout, $"Timed out after {Timeout.TotalSeconds} s: {failure}");
            await Task.Delay(2);
        }
    }

    /// <summary>
    /// Waits until every item has run or left, nothing runs or waits, and the lane has counted
    /// every finished run, then returns the lane's snapshot. After <see cref="Timeout"/> it returns
    /// the last snapshot as it is, for the caller's assertions to report.
    /// </summary>
    private static async Task<LaneSnapshot> WaitUntilSettledAsync(LaneDispatcher dispatcher, StressProbe probe, IReadOnlyCollection<StressItem> items, StressProbe? nestedProbe = null)
    {
        var counted = () => probe.Counted + (nestedProbe?.Counted ?? 0);

        // Snapshots are read only once no item waits, so that the rows without a snapshot reader
        // really run without one while items still wait.
        var elapsed = Stopwatch.StartNew();
        while (!items.All(item => item.Starts + item.Removals > 0) && elapsed.Elapsed < Timeout)
        {
            await Task.Delay(2);
        }

        while (true)
        {
            var snapshot = dispatcher.GetSnapshot(Lane)!;
            var settled = snapshot.Active == 0
                && snapshot.Queued == 0
                && snapshot.Completed + snapshot.Failed == counted();
            if (settled || elapsed.Elapsed > Timeout)
            {
                return snapshot;
            }

            await Task.Delay(2);
        }
    }

    /// <summary>Checks a settled lane's snapshot against the runs that the items of <paramref name="probe"/> and <paramref name="nestedProbe"/> saw.</summary>
    private static void AssertSettled(LaneSnapshot snapshot, StressProbe probe, StressProbe? nestedProbe = null)
    {
        Assert.Equal(0, snapshot.Active);
        Assert.Equal(0, snapshot.Queued);
        Assert.Equal(probe.Succeeded + (nestedProbe?.Succeeded ?? 0), snapshot.Completed);
        Assert.Equal(probe.Failed + (nestedProbe?.Failed ?? 0), snapshot.Failed);
        Assert.Equal(probe.Counted + (nestedProbe?.Counted ?? 0), snapshot.Completed + snapshot.Failed);
    }

    /// <summary>Fails with the first ten <paramref name="problems"/>, if there are any.</summary>
    private static void AssertNone(IEnumerable<string> problems, int round)
    {
        var firstProblems = problems.Take(10).ToList();
        Assert.True(firstProblems.Count == 0, $"Round {round}: {string.Join("; ", firstProblems)}");
    }

    /// <summary>Describes the items that did not run exactly once or were removed.</summary>
    private static IEnumerable<string> NotRunOnce(IEnumerable<StressItem> items) =>
        items.Where(item => item.Starts != 1 || item.Removals != 0).Select(item => item.Describe());

    /// <summary>Describes the items that did not either run once or leave once for one of <paramref name="reasons"/>.</summary>
    private static IEnumerable<string> RanOrLeftOtherThanOnce(IEnumerable<StressItem> items, params LaneRemovalReason[] reasons) =>
        items.Where(item => item.Starts + item.Removals != 1 || (item.Removals == 1 && !reasons.Contains(item.LastRemovalReason!.Value)))
            .Select(item => item.Describe());

    /// <summary>Describes pairs of items of one group, in start order, where the later-scheduled item started first.</summary>
    private static IEnumerable<string> OutOfSchedulingOrder<TGroup>(IEnumerable<StressItem> startOrder, Func<StressItem, TGroup> group)
        where TGroup : notnull
    {
        var lastStarted = new Dictionary<TGroup, StressItem>();
        foreach (var item in startOrder)
        {
            var key = group(item);
            if (lastStarted.TryGetValue(key, out var previous) && previous.Index > item.Index)
            {
                yield return $"{previous.Describe()} before {item.Describe()}";
            }

            lastStarted[key] = item;
        }
    }

    /// <summary>
    /// Several threads schedule a mix of plain and session items, some with a cancelled token,
    /// some whose token another thread cancels at about the time they are scheduled, and some
    /// that fail or throw. With a stop threshold, another thread stops the dispatcher once that
    /// many items were scheduled, while the threads go on scheduling.
    /// </summary>
    private sealed class MixedLoad(LaneDispatcher dispatcher, int threads, int itemsPerThread) : IDisposable
    {
        private readonly ConcurrentQueue<CancellationTokenSource> _toCancel = new();
        private readonly ConcurrentQueue<CancellationTokenSource> _sources = new();
        private readonly ConcurrentQueue<StressItem> _accepted = new();
        private readonly ConcurrentQueue<StressItem> _rejected = new();
        private int _scheduled;

        public StressProbe Probe { get; } = new(threads * itemsPerThread);

        public IReadOnlyCollection<StressItem> Accepted => _accepted;

        public IReadOnlyCollection<StressItem> Rejected => _rejected;

        public async Task RunAsync(int? stopAfterScheduled)
        {
            var scheduled = false;
            var canceller = RunLongAsync(() =>
            {
                var random = new Random(17);
                while (!Volatile.Read(ref scheduled) || !_toCancel.IsEmpty)
                {
                    if (_toCancel.TryDequeue(out var source))
                    {
                        if (random.Next(4) == 0)
                        {
                            Thread.Yield();
                        }

                        source.Cancel();
                    }
                    else
                    {
                        Thread.Yield();
                    }
                }
            });

            var stopper = stopAfterScheduled is { } threshold ? RunLongAsync(() => StopWhenScheduled(threshold)) : Task.CompletedTask;
            await RunOnThreadsAsync(threads, thread =>
            {
                for (var i = 0; i < itemsPerThread; i++)
                {
                    var item = CreateItem(thread, i);
                    (dispatcher.Schedule(item) ? _accepted : _rejected).Enqueue(item);
                    Interlocked.Increment(ref _scheduled);
                    PauseNow(i);
                }
            });

            Volatile.Write(ref scheduled, true);
            await canceller.WaitAsync(Timeout);
            await stopper.WaitAsync(Timeout);
        }

        public void Dispose()
        {
            foreach (var source in _sources)
            {
                source.Dispose();
            }
        }

        /// <summary>Stops the dispatcher from this thread once <paramref name="threshold"/> Schedule calls returned.</summary>
        private void StopWhenScheduled(int threshold)
        {
            var elapsed = Stopwatch.StartNew();
            while (Volatile.Read(ref _scheduled) < threshold)
            {
                Assert.True(elapsed.Elapsed < Timeout, $"Fewer than {threshold} items were scheduled before the stop.");
                Thread.Yield();
            }

            Assert.True(dispatcher.StopAsync().Wait(Timeout), "StopAsync did not complete.");
            Probe.StopReturned = true;
        }

        private StressItem CreateItem(int thread, int i)
        {
            var index = (thread * itemsPerThread) + i;
            var token = CancellationToken.None;
            switch (i % 10)
            {
                case 0:
                    token = new CancellationToken(canceled: true);
                    break;
                case 1 or 2 or 3:
                    var source = new CancellationTokenSource();
                    _sources.Enqueue(source);
                    _toCancel.Enqueue(source);
                    token = source.Token;
                    break;
            }

            // One key per thread keeps the session's scheduling order known.
            var sessionKey = i % 4 == 1 ? $"thread-{thread}" : null;
            var outcome = OutcomeFor(i);
            return new StressItem(Probe, index, sessionKey, sessionOrdinal: i, cancellationToken: token, work: WorkFor(i), outcome: outcome);
        }
    }
}

internal enum StressWork
{
    Synchronous,

    /// <summary>Spins briefly before it returns synchronously, so that runs overlap.</summary>
    Spin,

    /// <summary>Awaits <see cref="Task.Yield"/>, which continues on a thread pool thread.</summary>
    Yield,

    /// <summary>Awaits a 1 ms delay.</summary>
    Delay,
}

internal enum StressOutcome
{
    Succeed,
    Fail,
    Throw,

    /// <summary>Defers an outcome of true that arrives after a thread pool hop.</summary>
    DeferSuccess,

    /// <summary>Defers an outcome of false that arrives after a thread pool hop.</summary>
    DeferFailure,

    /// <summary>Reports that the work did not start.</summary>
    NotStarted,
}

/// <summary>
/// What the items of one stress run observed: starts in order, the maximum number running at once,
/// outcomes, session overlaps and order, starts over the enforced limit and starts after the stop.
/// </summary>
internal sealed class StressProbe(int capacity)
{
    private const int MaxViolations = 20;

    private readonly int[] _startOrder = new int[capacity];
    private readonly ConcurrentDictionary<string, SessionTrack> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _violations = new();
    private int _starts;
    private int _running;
    private int _maxRunning;
    private int _succeeded;
    private int _failed;
    private int _notStarted;
    private int _startsAfterStop;
    private int _enforcedLimit = int.MaxValue;
    private int _stopReturned;

    public int Starts => Volatile.Read(ref _starts);

    public int MaxRunning => Volatile.Read(ref _maxRunning);

    public int Succeeded => Volatile.Read(ref _succeeded);

    /// <summary>Runs that returned false, threw or deferred an outcome of false.</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Runs that reported that they did not start, which the lane counts as removals.</summary>
    public int NotStarted => Volatile.Read(ref _notStarted);

    /// <summary>Runs that the lane counts as completed or failed.</summary>
    public int Counted => Starts - NotStarted;

    public int StartsAfterStop => Volatile.Read(ref _startsAfterStop);

    /// <summary>Item indexes in start order, with one entry per start.</summary>
    public IReadOnlyList<int> StartOrder => _startOrder.AsSpan(0, Math.Min(Starts, _startOrder.Length)).ToArray();

    /// <summary>The first few broken rules that items saw when they started.</summary>
    public IReadOnlyCollection<string> Violations => _violations;

    /// <summary>The maximum number of running items when an item starts, or int.MaxValue while no limit is enforced.</summary>
    public int EnforcedLimit
    {
        get => Volatile.Read(ref _enforcedLimit);
        set => Volatile.Write(ref _enforcedLimit, value);
    }

    /// <summary>Set once the dispatcher's StopAsync has returned. Starts after that are counted in <see cref="StartsAfterStop"/>.</summary>
    public bool StopReturned
    {
        get => Volatile.Read(ref _stopReturned) != 0;
        set => Volatile.Write(ref _stopReturned, value ? 1 : 0);
    }

    public void Enter(StressItem item)
    {
        if (StopReturned)
        {
            Interlocked.Increment(ref _startsAfterStop);
        }

        var position = Interlocked.Increment(ref _starts) - 1;
        if (position < _startOrder.Length)
        {
            _startOrder[position] = item.Index;
        }

        var running = Interlocked.Increment(ref _running);
        var max = Volatile.Read(ref _maxRunning);
        while (running > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxRunning, running, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }

        var enforced = EnforcedLimit;
        if (running > enforced)
        {
            AddViolation($"{item.Describe()} started as number {running} running while the limit was {enforced}");
        }

        if (item.SessionKey is { } key)
        {
            var track = _sessions.GetOrAdd(key, _ => new SessionTrack());
            var inSession = Interlocked.Increment(ref track.Running);
            if (inSession != 1)
            {
                AddViolation($"{item.Describe()} started while {inSession - 1} items of its session ran");
            }

            var previous = Interlocked.Exchange(ref track.LastOrdinal, item.SessionOrdinal);
            if (previous >= item.SessionOrdinal)
            {
                AddViolation($"{item.Describe()} started after ordinal {previous} of its session");
            }
        }
    }

    public void Exit(StressItem item, StressOutcome outcome)
    {
        switch (outcome)
        {
            case StressOutcome.Succeed or StressOutcome.DeferSuccess:
                Interlocked.Increment(ref _succeeded);
                break;
            case StressOutcome.NotStarted:
                Interlocked.Increment(ref _notStarted);
                break;
            default:
                Interlocked.Increment(ref _failed);
                break;
        }

        if (item.SessionKey is { } key && _sessions.TryGetValue(key, out var track))
        {
            Interlocked.Decrement(ref track.Running);
        }

        Interlocked.Decrement(ref _running);
    }

    private void AddViolation(string violation)
    {
        if (_violations.Count < MaxViolations)
        {
            _violations.Enqueue(violation);
        }
    }

    private sealed class SessionTrack
    {
        public int Running;
        public int LastOrdinal;
    }
}

/// <summary>
/// A work item for stress tests that reports its start and end to a <see cref="StressProbe"/> and
/// counts its own starts and removals. It runs <c>body</c> when one is given, otherwise the
/// <see cref="StressWork"/> it was made with. Then it ends as its <see cref="StressOutcome"/> sets:
/// it returns true or false, throws, defers an outcome or reports that it did not start.
/// </summary>
internal sealed class StressItem(
    StressProbe probe,
    int index,
    string? sessionKey = null,
    int sessionOrdinal = 0,
    LanePriority priority = LanePriority.Default,
    CancellationToken cancellationToken = default,
    StressWork work = StressWork.Synchronous,
    StressOutcome outcome = StressOutcome.Succeed,
    Func<StressItem, ValueTask>? body = null)
    : LaneWorkItem("stress", sessionKey, priority, cancellationToken)
{
    private const int RemovalReasonNone = -1;

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _starts;
    private int _finished;
    private int _removals;
    private int _lastRemovalReason = RemovalReasonNone;

    public int Index { get; } = index;

    /// <summary>The item's place among the items of its session, in scheduling order.</summary>
    public int SessionOrdinal { get; } = sessionOrdinal;

    public override string Id => $"stress-{Index}";

    public int Starts => Volatile.Read(ref _starts);

    public bool Finished => Volatile.Read(ref _finished) != 0;

    /// <summary>Completes when the first run of the item has ended, however it ended.</summary>
    public Task Done => _done.Task;

    public int Removals => Volatile.Read(ref _removals);

    public LaneRemovalReason? LastRemovalReason =>
        Volatile.Read(ref _lastRemovalReason) is var reason and not RemovalReasonNone ? (LaneRemovalReason)reason : null;

    public string Describe() =>
        $"item {Index} ({Priority}{(SessionKey is null ? string.Empty : $", session {SessionKey} #{SessionOrdinal}")}: {Starts} starts, {Removals} removals{(LastRemovalReason is { } reason ? $", last {reason}" : string.Empty)})";

    protected internal override async ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
    {
        Interlocked.Increment(ref _starts);
        probe.Enter(this);
        try
        {
            if (body is not null)
            {
                await body(this);
            }
            else
            {
                await RunWorkAsync();
            }

            switch (outcome)
            {
                case StressOutcome.Throw:
                    throw new InvalidOperationException($"Stress item {Index} throws on purpose.");
                case StressOutcome.DeferSuccess or StressOutcome.DeferFailure:
                    DeferOutcome(SettleLaterAsync(outcome == StressOutcome.DeferSuccess));
                    break;
                case StressOutcome.NotStarted:
                    ReportNotStarted();
                    break;
            }

            return outcome == StressOutcome.Succeed;
        }
        finally
        {
            probe.Exit(this, outcome);
            Volatile.Write(ref _finished, 1);
            _done.TrySetResult();
        }
    }

    private static async Task<bool> SettleLaterAsync(bool succeeded)
    {
        await Task.Yield();
        return succeeded;
    }

    protected internal override void OnRemoved(LaneRemovalReason reason)
    {
        Volatile.Write(ref _lastRemovalReason, (int)reason);
        Interlocked.Increment(ref _removals);
    }

    private async ValueTask RunWorkAsync()
    {
        switch (work)
        {
            case StressWork.Spin:
                Thread.SpinWait(50);
                break;
            case StressWork.Yield:
                await Task.Yield();
                break;
            case StressWork.Delay:
                await Task.Delay(1, CancellationToken.None);
                break;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using AgentApi.Lanes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Benchmarks;

/// <summary>
/// Runs the dispatch benchmark's work as alternating rounds in one process. Each set of rounds
/// sends 1,000,000 no-op items through one lane, then the same count through a Channel pool of the
/// same width, then through that pool with the dispatcher's two clock reads per item, each round
/// after a full collection. It prints the per-item minimum and median of each, skipping the first
/// rounds while the JIT tiers up. On a machine shared with other work the minimum is the steadier
/// figure, because interference only adds time.
/// </summary>
internal static class DispatchRoundsProbe
{
    private const int ItemCount = 1_000_000;
    private const int Rounds = 20;
    private const int WarmupRounds = 3;
    private const string LaneName = "rounds";

    public static async Task<int> RunAsync(int limit)
    {
        Console.WriteLine($"Dispatch rounds: {ItemCount:N0} no-op items per round at limit {limit}, {Rounds} rounds each, first {WarmupRounds} skipped.");

        var counter = new CompletionCounter();
        var limits = new Dictionary<string, int>(StringComparer.Ordinal) { [LaneName] = limit };
        var dispatcher = new LaneDispatcher(limits, new LaneDispatcherOptions(), TimeProvider.System, NullLogger<LaneDispatcher>.Instance);
        List<double> dispatcherNs = [];
        List<double> channelNs = [];
        List<double> timedChannelNs = [];
        for (var round = 0; round < Rounds; round++)
        {
            dispatcherNs.Add(await MeasureAsync(counter, items =>
            {
                foreach (var item in items)
                {
                    dispatcher.Schedule(item);
                }
            }));
            channelNs.Add(await MeasureAsync(counter, items => WriteToChannelPool(items, limit)));
            timedChannelNs.Add(await MeasureAsync(counter, items => WriteToTimedChannelPool(items, limit)));
        }

        await dispatcher.StopAsync();
        await dispatcher.DisposeAsync();

        var (dispatcherMin, dispatcherMedian) = Summarize(dispatcherNs);
        var (channelMin, channelMedian) = Summarize(channelNs);
        var (timedMin, timedMedian) = Summarize(timedChannelNs);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  min    dispatcher {dispatcherMin,6:F1} ns, Channel pool {channelMin,5:F1} ns, ratio {dispatcherMin / channelMin:F2}"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  median dispatcher {dispatcherMedian,6:F1} ns, Channel pool {channelMedian,5:F1} ns, ratio {dispatcherMedian / channelMedian:F2}"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  Channel pool with two Stopwatch reads per item: min {timedMin,5:F1} ns (ratio to the pool {timedMin / channelMin:F2}), median {timedMedian,5:F1} ns (ratio {timedMedian / channelMedian:F2})"));
        return 0;
    }

    private static async Task<double> MeasureAsync(CompletionCounter counter, Action<NoOpLaneItem[]> start)
    {
        var items = new NoOpLaneItem[ItemCount];
        for (var i = 0; i < ItemCount; i++)
        {
            items[i] = new NoOpLaneItem(LaneName, sessionKey: null, counter);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        counter.Reset(ItemCount);
        var elapsed = Stopwatch.StartNew();
        start(items);
        await counter.Done;
        return elapsed.Elapsed.TotalNanoseconds / ItemCount;
    }

    /// <summary>The same pool as <see cref="DispatchBenchmarks.ChannelPool"/>.</summary>
    private static void WriteToChannelPool(NoOpLaneItem[] items, int readers)
    {
        var channel = Channel.CreateUnbounded<NoOpLaneItem>(new UnboundedChannelOptions { SingleWriter = true });
        for (var i = 0; i < readers; i++)
        {
            _ = Task.Run(() => ReadAllAsync(channel.Reader));
        }

        foreach (var item in items)
        {
            channel.Writer.TryWrite(item);
        }

        channel.Writer.Complete();
    }

    private static async Task ReadAllAsync(ChannelReader<NoOpLaneItem> reader)
    {
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                await item.Run().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The Channel pool with two <c>Stopwatch.GetTimestamp</c> reads per item, as the dispatcher
    /// made to time each wait before it dated waits with the coarse <c>Environment.TickCount64</c>.
    /// The writer dates each item, and the reader reads the clock before it runs the item, so the
    /// difference to the plain pool is what the two reads cost in this run.
    /// </summary>
    private static void WriteToTimedChannelPool(NoOpLaneItem[] items, int readers)
    {
        var channel = Channel.CreateUnbounded<(NoOpLaneItem Item, long ScheduledAt)>(new UnboundedChannelOptions { SingleWriter = true });
        for (var i = 0; i < readers; i++)
        {
            _ = Task.Run(() => ReadAllTimedAsync(channel.Reader));
        }

        foreach (var item in items)
        {
            channel.Writer.TryWrite((item, Stopwatch.GetTimestamp()));
        }

        channel.Writer.Complete();
    }

    private static async Task ReadAllTimedAsync(ChannelReader<(NoOpLaneItem Item, long ScheduledAt)> reader)
    {
        long totalWaitTicks = 0;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var entry))
            {
                totalWaitTicks += Stopwatch.GetTimestamp() - entry.ScheduledAt;
                await entry.Item.Run().ConfigureAwait(false);
            }
        }

        GC.KeepAlive(totalWaitTicks);
    }

    private static (double Min, double Median) Summarize(List<double> perItemNs)
    {
        var measured = perItemNs.Skip(WarmupRounds).Order().ToList();
        return (measured[0], measured[measured.Count / 2]);
    }
}

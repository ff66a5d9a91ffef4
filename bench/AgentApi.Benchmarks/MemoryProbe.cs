using AgentApi.Lanes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Benchmarks;

/// <summary>
/// Measures the managed heap that waiting work takes: one million items scheduled into a paused
/// lane (limit 0), with GC.GetTotalMemory(forceFullCollection: true) read before and after.
/// </summary>
internal static class MemoryProbe
{
    private const int ItemCount = 1_000_000;
    private const int SharedSessionCount = 1_000;
    private const string LaneName = "paused";

    public static async Task<int> RunAsync()
    {
        Console.WriteLine($"Bytes per waiting item: {ItemCount:N0} items in a paused lane, GC.GetTotalMemory(true) after scheduling minus before.");

        var noSession = new string?[ItemCount];
        var ownSession = Enumerable.Range(0, ItemCount).Select(i => (string?)$"session-{i}").ToArray();
        var sharedKeys = Enumerable.Range(0, SharedSessionCount).Select(i => $"session-{i}").ToArray();
        var sharedSession = Enumerable.Range(0, ItemCount).Select(i => (string?)sharedKeys[i % SharedSessionCount]).ToArray();

        Report("no session key", await MeasureAsync(noSession));
        Report("own session key per item", await MeasureAsync(ownSession));
        Report($"{SharedSessionCount:N0} session keys, {ItemCount / SharedSessionCount:N0} items each", await MeasureAsync(sharedSession));

        // The session key strings were allocated before the first reading, so they are not counted.
        Console.WriteLine($"  of which the work item object itself: {MeasureItemObjectBytes():N0} bytes ({nameof(NoOpLaneItem)}, no extra fields).");
        return 0;
    }

    private static void Report(string label, double bytesPerItem) =>
        Console.WriteLine($"  {label,-40} {bytesPerItem,8:N1} bytes per item");

    private static async Task<double> MeasureAsync(string?[] sessionKeys)
    {
        var counter = new CompletionCounter();
        var limits = new Dictionary<string, int>(StringComparer.Ordinal) { [LaneName] = 0 };
        var dispatcher = new LaneDispatcher(limits, new LaneDispatcherOptions(), TimeProvider.System, NullLogger<LaneDispatcher>.Instance);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < ItemCount; i++)
        {
            dispatcher.Schedule(new NoOpLaneItem(LaneName, sessionKeys[i], counter));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);

        var queued = dispatcher.GetSnapshot(LaneName)?.Queued;
        if (queued != ItemCount)
        {
            throw new InvalidOperationException($"Expected {ItemCount} waiting items in lane '{LaneName}', found {queued}.");
        }

        await dispatcher.StopAsync();
        await dispatcher.DisposeAsync();
        GC.KeepAlive(sessionKeys);
        return (after - before) / (double)ItemCount;
    }

    private static double MeasureItemObjectBytes()
    {
        const int count = 1_000;
        var counter = new CompletionCounter();
        var items = new NoOpLaneItem[count];

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < count; i++)
        {
            items[i] = new NoOpLaneItem(LaneName, sessionKey: null, counter);
        }

        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(items);
        return (after - before) / (double)count;
    }
}

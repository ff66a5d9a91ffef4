using System.Diagnostics;
using AgentApi.Lanes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Benchmarks;

/// <summary>
/// Measures how close the dispatcher gets to the ideal schedule: 1,000 items that each await a
/// 100 ms Task.Delay at limit 100 need 10 waves, so 1.0 s at best. A SemaphoreSlim gate of the
/// same width runs the same work for comparison.
/// </summary>
internal static class MakespanProbe
{
    private const int ItemCount = 1_000;
    private const int Limit = 100;
    private const int Runs = 5;
    private const string LaneName = "makespan";

    private static readonly TimeSpan WorkDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Ideal = WorkDelay * (ItemCount / Limit);

    public static async Task<int> RunAsync()
    {
        Console.WriteLine($"Makespan: {ItemCount:N0} items of Task.Delay({WorkDelay.TotalMilliseconds} ms) at limit {Limit}; ideal {Ideal.TotalSeconds:F3} s; median of {Runs} runs after one warm-up run.");

        await Report("LaneDispatcher", MeasureDispatcherAsync);
        await Report("SemaphoreSlim gate", MeasureSemaphoreAsync);
        return 0;
    }

    private static async Task Report(string label, Func<Task<TimeSpan>> measure)
    {
        await measure();

        List<TimeSpan> runs = [];
        for (var i = 0; i < Runs; i++)
        {
            runs.Add(await measure());
        }

        var median = runs.Order().ElementAt(Runs / 2);
        var overheadPercent = (median - Ideal) / Ideal * 100;
        var all = string.Join(", ", runs.Select(run => run.TotalSeconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
        Console.WriteLine($"  {label,-20} median {median.TotalSeconds:F3} s ({overheadPercent:+0.0;-0.0} % against ideal); runs: {all} s");
    }

    private static async Task<TimeSpan> MeasureDispatcherAsync()
    {
        var counter = new CompletionCounter();
        counter.Reset(ItemCount);
        var limits = new Dictionary<string, int>(StringComparer.Ordinal) { [LaneName] = Limit };
        var dispatcher = new LaneDispatcher(limits, new LaneDispatcherOptions(), TimeProvider.System, NullLogger<LaneDispatcher>.Instance);
        var items = Enumerable.Range(0, ItemCount).Select(_ => new DelayLaneItem(LaneName, WorkDelay, counter)).ToArray();

        var elapsed = Stopwatch.StartNew();
        foreach (var item in items)
        {
            dispatcher.Schedule(item);
        }

        await counter.Done;
        elapsed.Stop();

        await dispatcher.StopAsync();
        await dispatcher.DisposeAsync();
        return elapsed.Elapsed;
    }

    private static async Task<TimeSpan> MeasureSemaphoreAsync()
    {
        using var gate = new SemaphoreSlim(Limit, Limit);

        var elapsed = Stopwatch.StartNew();
        var runs = new Task[ItemCount];
        for (var i = 0; i < ItemCount; i++)
        {
            runs[i] = RunGatedAsync(gate);
        }

        await Task.WhenAll(runs);
        elapsed.Stop();
        return elapsed.Elapsed;
    }

    private static async Task RunGatedAsync(SemaphoreSlim gate)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await Task.Delay(WorkDelay).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }
}

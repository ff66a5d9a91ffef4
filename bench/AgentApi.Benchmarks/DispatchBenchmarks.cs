using System.Threading.Channels;
using AgentApi.Lanes;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Benchmarks;

/// <summary>
/// Runs one million synchronous no-op items through one lane at each concurrency limit, and the
/// same items through two bare baselines: a SemaphoreSlim gate and a pool of Channel readers.
/// All three get the same item type, <see cref="NoOpLaneItem"/>, and run the same work per item,
/// <see cref="NoOpLaneItem.Run"/>, which counts the item down on the same counter. Each iteration
/// gets freshly allocated items in its setup, so the allocation column shows what the mechanism
/// itself allocates per item.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    public const int ItemCount = 1_000_000;

    private const string LaneName = "bench";

    private readonly CompletionCounter _counter = new();
    private LaneDispatcher _dispatcher = null!;
    private SemaphoreSlim _gate = null!;
    private NoOpLaneItem[] _items = [];

    [Params(1, 3, 100)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public void CreateDispatcher()
    {
        var limits = new Dictionary<string, int>(StringComparer.Ordinal) { [LaneName] = Concurrency };
        _dispatcher = new LaneDispatcher(limits, new LaneDispatcherOptions(), TimeProvider.System, NullLogger<LaneDispatcher>.Instance);
        _gate = new SemaphoreSlim(Concurrency, Concurrency);
    }

    [GlobalCleanup]
    public async Task StopDispatcherAsync()
    {
        await _dispatcher.StopAsync();
        await _dispatcher.DisposeAsync();
        _gate.Dispose();
    }

    [IterationSetup]
    public void CreateItems()
    {
        // Lane items cannot be reused: an item that ran never returns to waiting, and Schedule ignores it.
        _items = new NoOpLaneItem[ItemCount];
        for (var i = 0; i < ItemCount; i++)
        {
            _items[i] = new NoOpLaneItem(LaneName, sessionKey: null, _counter);
        }
    }

    [Benchmark(OperationsPerInvoke = ItemCount)]
    public Task Dispatcher()
    {
        _counter.Reset(ItemCount);
        foreach (var item in _items)
        {
            _dispatcher.Schedule(item);
        }

        return _counter.Done;
    }

    /// <summary>
    /// Starts one gated call per item. With synchronous work the gate is free again before the next
    /// call, so this is the floor: one uncontended WaitAsync and Release per item.
    /// </summary>
    [Benchmark(OperationsPerInvoke = ItemCount, Baseline = true)]
    public Task SemaphoreGate()
    {
        _counter.Reset(ItemCount);
        foreach (var item in _items)
        {
            _ = RunGatedAsync(_gate, item);
        }

        return _counter.Done;
    }

    /// <summary>Writes every item to an unbounded channel that <see cref="Concurrency"/> reader loops drain.</summary>
    [Benchmark(OperationsPerInvoke = ItemCount)]
    public Task ChannelPool()
    {
        _counter.Reset(ItemCount);
        var channel = Channel.CreateUnbounded<NoOpLaneItem>(new UnboundedChannelOptions { SingleWriter = true });
        for (var i = 0; i < Concurrency; i++)
        {
            _ = Task.Run(() => ReadAllAsync(channel.Reader));
        }

        foreach (var item in _items)
        {
            channel.Writer.TryWrite(item);
        }

        channel.Writer.Complete();
        return _counter.Done;
    }

    private static async Task RunGatedAsync(SemaphoreSlim gate, NoOpLaneItem item)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await item.Run().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
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
}

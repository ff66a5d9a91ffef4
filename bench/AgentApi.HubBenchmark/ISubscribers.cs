namespace AgentApi.HubBenchmark;

/// <summary>The benchmark's SignalR clients, in this process or in a child process.</summary>
internal interface ISubscribers : IAsyncDisposable
{
    /// <summary>Returns the distinct events received so far by all clients together.</summary>
    Task<ReceivedCounts> GetCountsAsync(CancellationToken cancellationToken);

    /// <summary>Starts the measured phase: the clients' CPU and memory are counted from here.</summary>
    Task StartMeasuringAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Waits until every client has every measured event or <paramref name="drain"/> has passed,
    /// then returns what the clients received.
    /// </summary>
    Task<SubscriberResult> FinishAsync(TimeSpan drain, CancellationToken cancellationToken);
}

/// <summary>
/// Distinct events received by all clients together, warm-up and measured ones apart, and the
/// methods the JIT has compiled so far in the clients' process.
/// </summary>
internal sealed record ReceivedCounts(long Warmup, long Measured, long MethodsCompiled);

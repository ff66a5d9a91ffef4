using HdrHistogram;

namespace AgentApi.HubBenchmark;

/// <summary>What the clients received in the measured phase. Timestamps are <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
internal sealed record SubscriberResult(
    int Clients,
    long EventsPerClient,
    long Received,
    long Duplicates,
    long Reordered,
    long Unexpected,
    int ClientsMissingEvents,
    long FewestReceived,
    int Disconnected,
    long FirstReceivedAt,
    long LastReceivedAt,
    LatencySummary Latency,
    ResourceUsage Resources)
{
    public long Expected => Clients * EventsPerClient;

    public long Lost => Expected - Received;
}

/// <summary>Delivery latency, from the publish call to the client's handler, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double Mean, double P50, double P95, double P99, double P999, double Max)
{
    /// <summary>Summarises a histogram of microseconds.</summary>
    public static LatencySummary From(HistogramBase microseconds)
    {
        if (microseconds.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0);
        }

        static double Milliseconds(double value) => value / 1_000.0;
        return new LatencySummary(
            microseconds.TotalCount,
            Milliseconds(microseconds.GetMean()),
            Milliseconds(microseconds.GetValueAtPercentile(50)),
            Milliseconds(microseconds.GetValueAtPercentile(95)),
            Milliseconds(microseconds.GetValueAtPercentile(99)),
            Milliseconds(microseconds.GetValueAtPercentile(99.9)),
            Milliseconds(microseconds.GetMaxValue()));
    }
}

using System.Diagnostics;
using System.Text.Json;
using AgentApi.Events;
using AgentApi.Tasks;
using HdrHistogram;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The service's <see cref="TaskHubLifetimeManager"/>, timing the server's part of each measured
/// event's delivery: how long after its publish the broadcast handed it to the connections. What
/// remains of the clients' latency is spent in the connections' queues, in sockets and in the
/// clients. An event sent in a <c>taskEvents</c> batch is timed by its batch.
/// </summary>
internal sealed class TimedHubLifetimeManager(
    ILogger<DefaultHubLifetimeManager<TaskHub>> logger,
    ILogger<TaskHubLifetimeManager> outboxLogger,
    IOptions<EventOptions> options,
    TimeProvider timeProvider) : TaskHubLifetimeManager(logger, outboxLogger, options, timeProvider)
{
    private const long MaxMicroseconds = 600_000_000;

    private readonly Lock _sync = new();
    private long _deliveriesHandedOver;
    private long _measuredSends;
    private long _measuredEventsSent;
    private readonly LongHistogram _started = new(MaxMicroseconds, numberOfSignificantValueDigits: 3);

    /// <summary>Measured events times the number of connections they were handed to, in either mode.</summary>
    public long DeliveriesHandedOver => Interlocked.Read(ref _deliveriesHandedOver);

    /// <summary>Sends that carried at least one measured event: one per batch, or one per write to every <c>SubscribeAll</c> connection.</summary>
    public long MeasuredSends => Interlocked.Read(ref _measuredSends);

    /// <summary>Measured events in those sends.</summary>
    public long MeasuredEventsSent => Interlocked.Read(ref _measuredEventsSent);

    /// <summary>From the publish call to the start of the send, in milliseconds.</summary>
    public LatencySummary SendStarted
    {
        get
        {
            lock (_sync)
            {
                return LatencySummary.From(_started);
            }
        }
    }

    public override Task SendEventsToAllAsync(IReadOnlyList<TaskEventResponse> events, CancellationToken cancellationToken)
    {
        Record(events, AllEventsConnectionCount);
        return base.SendEventsToAllAsync(events, cancellationToken);
    }

    public override Task SendBatchToAllAsync(IReadOnlyList<TaskEventResponse> batch, CancellationToken cancellationToken)
    {
        Record(batch, AllBatchedConnectionCount);
        return base.SendBatchToAllAsync(batch, cancellationToken);
    }

    private void Record(IReadOnlyList<TaskEventResponse> events, int connections)
    {
        var published = MeasuredSentAts(events);
        if (published.Count == 0)
        {
            return;
        }

        Interlocked.Increment(ref _measuredSends);
        Interlocked.Add(ref _measuredEventsSent, published.Count);
        Interlocked.Add(ref _deliveriesHandedOver, (long)published.Count * connections);
        lock (_sync)
        {
            foreach (var sentAt in published)
            {
                var microseconds = Stopwatch.GetElapsedTime(sentAt).Ticks / TimeSpan.TicksPerMicrosecond;
                _started.RecordValue(Math.Clamp(microseconds, 0, MaxMicroseconds));
            }
        }
    }

    /// <summary>Returns the publish timestamps of the measured benchmark events among <paramref name="events"/>; warm-up events have none.</summary>
    private static List<long> MeasuredSentAts(IReadOnlyList<TaskEventResponse> events)
    {
        List<long> published = [];
        foreach (var taskEvent in events)
        {
            AddMeasured(published, taskEvent);
        }

        return published;
    }

    private static void AddMeasured(List<long> published, TaskEventResponse taskEvent)
    {
        if (taskEvent.Data is { ValueKind: JsonValueKind.Object } data
            && data.TryGetProperty("index", out var index)
            && index.GetInt64() >= 0
            && data.TryGetProperty("sentAt", out var sentAt))
        {
            published.Add(sentAt.GetInt64());
        }
    }
}

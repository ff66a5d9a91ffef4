using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AgentApi.Events;
using AgentApi.Tasks;
using HdrHistogram;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The service's <see cref="TaskHubLifetimeManager"/>, timing the server's part of each measured
/// event's delivery: how long after its publish the broadcast handed it to the send, and how long
/// after its publish every connection's output pipe had accepted it. What remains of the clients'
/// latency is spent in sockets and in the clients. An event sent in a <c>taskEvents</c> batch is
/// timed by its batch's group send, and one sent to <c>SubscribeAll</c> connections by the write
/// that carried it.
/// </summary>
internal sealed class TimedHubLifetimeManager(ILogger<DefaultHubLifetimeManager<TaskHub>> logger) : TaskHubLifetimeManager(logger)
{
    private const long MaxMicroseconds = 600_000_000;

    private readonly Lock _sync = new();
    private readonly ConcurrentDictionary<string, int> _groupSizes = new(StringComparer.Ordinal);
    private long _deliveriesWritten;
    private long _measuredSends;
    private long _measuredEventsSent;
    private readonly LongHistogram _started = new(MaxMicroseconds, numberOfSignificantValueDigits: 3);
    private readonly LongHistogram _written = new(MaxMicroseconds, numberOfSignificantValueDigits: 3);

    /// <summary>
    /// Measured events times the number of connections they were sent to, counted once every
    /// connection's pipe had accepted them. Group sizes count joins only, which is exact while no
    /// client leaves during the run.
    /// </summary>
    public long DeliveriesWritten => Interlocked.Read(ref _deliveriesWritten);

    /// <summary>Sends that carried at least one measured event: one per batch, or one per write to every <c>SubscribeAll</c> connection.</summary>
    public long MeasuredSends => Interlocked.Read(ref _measuredSends);

    /// <summary>Measured events in those sends, counted when each send started.</summary>
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

    /// <summary>From the publish call until every connection's pipe had accepted the event, in milliseconds.</summary>
    public LatencySummary Written
    {
        get
        {
            lock (_sync)
            {
                return LatencySummary.From(_written);
            }
        }
    }

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        Timed(
            MeasuredSentAts(methodName, args),
            base.SendGroupAsync(groupName, methodName, args, cancellationToken),
            _groupSizes.GetValueOrDefault(groupName));

    public override Task SendEventsToAllAsync(IReadOnlyList<TaskEventResponse> events, CancellationToken cancellationToken)
    {
        List<long> published = [];
        foreach (var taskEvent in events)
        {
            AddMeasured(published, taskEvent);
        }

        return Timed(published, base.SendEventsToAllAsync(events, cancellationToken), AllEventsConnectionCount);
    }

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        _groupSizes.AddOrUpdate(groupName, 1, static (_, size) => size + 1);
        return base.AddToGroupAsync(connectionId, groupName, cancellationToken);
    }

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        _groupSizes.AddOrUpdate(groupName, 0, static (_, size) => size - 1);
        return base.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
    }

    private Task Timed(List<long> published, Task send, int members)
    {
        if (published.Count == 0)
        {
            return send;
        }

        Interlocked.Increment(ref _measuredSends);
        Interlocked.Add(ref _measuredEventsSent, published.Count);
        Record(_started, published);
        if (send.IsCompletedSuccessfully)
        {
            RecordWritten(published, members);
            return send;
        }

        return RecordWhenWrittenAsync(send, published, members);
    }

    /// <summary>
    /// Returns the publish timestamps of the measured benchmark events in a <c>taskEvents</c> send;
    /// empty for anything else (warm-up events, lanes).
    /// </summary>
    private static List<long> MeasuredSentAts(string methodName, object?[] args)
    {
        List<long> published = [];
        if (methodName == TaskHub.TaskEventsMethod && args is [IEnumerable<TaskEventResponse> batch])
        {
            foreach (var batched in batch)
            {
                AddMeasured(published, batched);
            }
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

    private async Task RecordWhenWrittenAsync(Task send, List<long> published, int members)
    {
        await send;
        RecordWritten(published, members);
    }

    private void RecordWritten(List<long> published, int members)
    {
        Record(_written, published);
        Interlocked.Add(ref _deliveriesWritten, (long)published.Count * members);
    }

    private void Record(LongHistogram histogram, List<long> published)
    {
        lock (_sync)
        {
            foreach (var sentAt in published)
            {
                var microseconds = Stopwatch.GetElapsedTime(sentAt).Ticks / TimeSpan.TicksPerMicrosecond;
                histogram.RecordValue(Math.Clamp(microseconds, 0, MaxMicroseconds));
            }
        }
    }
}

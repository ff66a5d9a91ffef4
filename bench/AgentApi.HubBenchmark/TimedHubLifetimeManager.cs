using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using AgentApi.Events;
using AgentApi.Tasks;
using HdrHistogram;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace AgentApi.HubBenchmark;

/// <summary>
/// Wraps the hub's <see cref="DefaultHubLifetimeManager{THub}"/> to time the server's part of each
/// measured event's delivery: how long after its publish the broadcast handed it to the group send,
/// and how long after its publish every connection's output pipe had accepted it. What remains of
/// the clients' latency is spent in sockets and in the clients. An event sent in a
/// <c>taskEvents</c> batch is timed by its batch's group send.
/// </summary>
internal sealed class TimedHubLifetimeManager(DefaultHubLifetimeManager<TaskHub> inner) : HubLifetimeManager<TaskHub>
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
    /// Measured events times the size of the group they were sent to, counted once every
    /// connection's pipe had accepted them. Group sizes count joins only, which is exact while no
    /// client leaves during the run.
    /// </summary>
    public long DeliveriesWritten => Interlocked.Read(ref _deliveriesWritten);

    /// <summary>Group sends that carried at least one measured event: one per event, or one per batch.</summary>
    public long MeasuredSends => Interlocked.Read(ref _measuredSends);

    /// <summary>Measured events in those group sends, counted when each send started.</summary>
    public long MeasuredEventsSent => Interlocked.Read(ref _measuredEventsSent);

    /// <summary>From the publish call to the start of the group send, in milliseconds.</summary>
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

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var published = MeasuredSentAts(methodName, args);
        var send = inner.SendGroupAsync(groupName, methodName, args, cancellationToken);
        if (published.Count == 0)
        {
            return send;
        }

        var members = _groupSizes.GetValueOrDefault(groupName);
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

    public override Task OnConnectedAsync(HubConnectionContext connection) => inner.OnConnectedAsync(connection);

    public override Task OnDisconnectedAsync(HubConnectionContext connection) => inner.OnDisconnectedAsync(connection);

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendAllAsync(methodName, args, cancellationToken);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionAsync(connectionId, methodName, args, cancellationToken);

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionsAsync(connectionIds, methodName, args, cancellationToken);

    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupsAsync(groupNames, methodName, args, cancellationToken);

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUserAsync(userId, methodName, args, cancellationToken);

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUsersAsync(userIds, methodName, args, cancellationToken);

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        _groupSizes.AddOrUpdate(groupName, 1, static (_, size) => size + 1);
        return inner.AddToGroupAsync(connectionId, groupName, cancellationToken);
    }

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        _groupSizes.AddOrUpdate(groupName, 0, static (_, size) => size - 1);
        return inner.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
    }

    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        inner.InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        inner.SetConnectionResultAsync(connectionId, result);

    public override bool TryGetReturnType(string invocationId, [NotNullWhen(true)] out Type? type) =>
        inner.TryGetReturnType(invocationId, out type);

    /// <summary>
    /// Returns the publish timestamps of the measured benchmark events in a <c>taskEvent</c> or
    /// <c>taskEvents</c> send; empty for anything else (warm-up events, lanes).
    /// </summary>
    private static List<long> MeasuredSentAts(string methodName, object?[] args)
    {
        List<long> published = [];
        if (methodName == TaskHub.TaskEventMethod && args is [TaskEventResponse taskEvent])
        {
            AddMeasured(published, taskEvent);
        }
        else if (methodName == TaskHub.TaskEventsMethod && args is [IEnumerable<TaskEventResponse> batch])
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

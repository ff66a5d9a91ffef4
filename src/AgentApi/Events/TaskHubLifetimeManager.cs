using System.Buffers;
using System.Collections.Concurrent;
using AgentApi.Lanes;
using AgentApi.Tasks;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace AgentApi.Events;

/// <summary>
/// SignalR's in-process lifetime manager for <see cref="TaskHub"/>, which also keeps the
/// connections that follow every task, <c>SubscribeAll</c> and <c>SubscribeAllBatched</c>, each
/// with an <see cref="Outbox"/>. The dashboard broadcast sends to them through
/// <see cref="SendEventsToAllAsync"/>, <see cref="SendBatchToAllAsync"/> and
/// <see cref="SendLaneToAll"/>, which never wait for a connection.
/// </summary>
/// <remarks>
/// <para>
/// A group send writes and flushes every connection's pipe once per message. In the hub benchmark,
/// with 500 connections and 5,000 events a second, that cost the service 0.77 µs of CPU per
/// delivery, and its one send loop fell behind. So the broadcast hands over the events that queued
/// up during its previous send, and each connection gets them in one write: 0.23 to 0.34 µs per
/// delivery in the same benchmark. Clients still receive one <c>taskEvent</c> invocation per event.
/// </para>
/// <para>
/// A group send also waits for every connection's pipe, so one client that stops reading held up
/// every other dashboard until SignalR's send timeout closed it, 10 s by default. Each connection
/// now has its own <see cref="Outbox"/>, and one that falls behind by more than
/// <see cref="EventOptions.SlowClientTimeout"/> or <see cref="MaxQueuedBytes"/> is closed. Its
/// client reconnects and reads the current state again, as after any disconnect.
/// </para>
/// </remarks>
public class TaskHubLifetimeManager(
    ILogger<DefaultHubLifetimeManager<TaskHub>> logger,
    ILogger<TaskHubLifetimeManager> outboxLogger,
    IOptions<EventOptions> options,
    TimeProvider timeProvider)
    : DefaultHubLifetimeManager<TaskHub>(logger)
{
    /// <summary>
    /// How many serialized bytes may wait for one connection that follows every task before it is
    /// closed, regardless of <see cref="EventOptions.SlowClientTimeout"/>. The messages are shared
    /// by all the connections they go to, so this bounds what one client can keep alive.
    /// </summary>
    public const long MaxQueuedBytes = 64L << 20;

    private readonly ConcurrentDictionary<string, HubConnectionContext> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Outbox> _allGroup = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Outbox> _allBatchedGroup = new(StringComparer.Ordinal);

    /// <summary>Connections in the <c>SubscribeAll</c> group now.</summary>
    public int AllEventsConnectionCount => _allGroup.Count;

    /// <summary>Connections in the <c>SubscribeAllBatched</c> group now.</summary>
    public int AllBatchedConnectionCount => _allBatchedGroup.Count;

    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        _connections[connection.ConnectionId] = connection;
        return base.OnConnectedAsync(connection);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        _connections.TryRemove(connection.ConnectionId, out _);
        _allGroup.TryRemove(connection.ConnectionId, out _);
        _allBatchedGroup.TryRemove(connection.ConnectionId, out _);
        return base.OnDisconnectedAsync(connection);
    }

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        if (FollowerGroup(groupName) is { } group && _connections.TryGetValue(connectionId, out var connection))
        {
            group[connectionId] = new Outbox(connection, options.Value.SlowClientTimeout, timeProvider, outboxLogger);
        }

        return base.AddToGroupAsync(connectionId, groupName, cancellationToken);
    }

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        FollowerGroup(groupName)?.TryRemove(connectionId, out _);
        return base.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
    }

    /// <summary>
    /// Sends <paramref name="events"/>, in order, to every connection in the <c>SubscribeAll</c>
    /// group, one <c>taskEvent</c> invocation each, serialized once per protocol and written to each
    /// connection in one write. Returns once every connection has the events written or queued.
    /// </summary>
    /// <remarks>
    /// The caller may reuse the list once the returned task has completed. Stateful reconnect stays
    /// off on this hub, because a connection with it would count the write as one message where the
    /// client counts one per event.
    /// </remarks>
    public virtual Task SendEventsToAllAsync(IReadOnlyList<TaskEventResponse> events, CancellationToken cancellationToken)
    {
        if (events.Count > 0 && !_allGroup.IsEmpty)
        {
            Send(_allGroup, new Message(protocol => SerializeEach(protocol, events)));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Sends <paramref name="batch"/> as one <c>taskEvents</c> invocation to every connection in the
    /// <c>SubscribeAllBatched</c> group. Returns once every connection has it written or queued,
    /// and serialized, so the caller may change the list afterwards.
    /// </summary>
    public virtual Task SendBatchToAllAsync(IReadOnlyList<TaskEventResponse> batch, CancellationToken cancellationToken)
    {
        if (batch.Count > 0 && !_allBatchedGroup.IsEmpty)
        {
            Send(_allBatchedGroup, new Message(new InvocationMessage(TaskHub.TaskEventsMethod, [batch])));
        }

        return Task.CompletedTask;
    }

    /// <summary>Sends a <c>laneChanged</c> invocation to every connection that follows every task, in either mode.</summary>
    public void SendLaneToAll(LaneResponse lane)
    {
        var message = new Message(new InvocationMessage(TaskHub.LaneChangedMethod, [lane]));
        Send(_allGroup, message);
        Send(_allBatchedGroup, message);
    }

    /// <summary>Closes each connection whose oldest unsent message waited longer than <see cref="EventOptions.SlowClientTimeout"/>.</summary>
    public void CloseSlowClients()
    {
        foreach (var (_, outbox) in _allGroup)
        {
            outbox.CloseIfBehind();
        }

        foreach (var (_, outbox) in _allBatchedGroup)
        {
            outbox.CloseIfBehind();
        }
    }

    private ConcurrentDictionary<string, Outbox>? FollowerGroup(string groupName) => groupName switch
    {
        TaskHub.AllGroup => _allGroup,
        TaskHub.AllBatchedGroup => _allBatchedGroup,
        _ => null,
    };

    private static void Send(ConcurrentDictionary<string, Outbox> group, Message message)
    {
        // Enumerating the dictionary takes no lock and copies nothing, unlike its Values property.
        foreach (var (_, outbox) in group)
        {
            var (serialized, length) = message.For(outbox.Connection.Protocol);
            outbox.Send(serialized, length);
        }
    }

    private static ReadOnlyMemory<byte> SerializeEach(IHubProtocol protocol, IReadOnlyList<TaskEventResponse> events)
    {
        var buffer = new ArrayBufferWriter<byte>(events.Count * 192);
        foreach (var taskEvent in events)
        {
            protocol.WriteMessage(new InvocationMessage(TaskHub.TaskEventMethod, [taskEvent]), buffer);
        }

        return buffer.WrittenMemory;
    }

    /// <summary>One broadcast's bytes, serialized once for each protocol that its connections use.</summary>
    private sealed class Message
    {
        private readonly Func<IHubProtocol, ReadOnlyMemory<byte>> _serialize;
        private readonly List<SerializedMessage> _serialized = new(2);
        private SerializedHubMessage? _message;

        public Message(Func<IHubProtocol, ReadOnlyMemory<byte>> serialize) => _serialize = serialize;

        public Message(HubMessage message) => _serialize = protocol => protocol.GetMessageBytes(message);

        /// <summary>The message for connections of <paramref name="protocol"/>, and its length in that protocol.</summary>
        public (SerializedHubMessage Message, int Length) For(IHubProtocol protocol)
        {
            foreach (var entry in _serialized)
            {
                if (entry.ProtocolName == protocol.Name)
                {
                    return (_message!, entry.Serialized.Length);
                }
            }

            var bytes = _serialize(protocol);
            _serialized.Add(new SerializedMessage(protocol.Name, bytes));

            // Connections written to before keep the earlier instance, which contains their protocol too.
            _message = new SerializedHubMessage(_serialized);
            return (_message, bytes.Length);
        }
    }
}

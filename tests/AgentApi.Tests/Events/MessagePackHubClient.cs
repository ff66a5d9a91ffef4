using System.Threading.Channels;
using AgentApi.Events;
using AgentApi.Tests.Infrastructure;
using MessagePack;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Events;

/// <summary>
/// A real SignalR client of <c>/hubs/tasks</c> over WebSockets and the MessagePack hub protocol
/// that binds <c>taskEvent</c>, each item of <c>taskEvents</c> to <typeparamref name="TEvent"/>
/// and <c>laneChanged</c> to <typeparamref name="TLane"/>, and keeps what it receives.
/// </summary>
internal sealed class MessagePackHubClient<TEvent, TLane> : IAsyncDisposable
{
    /// <summary>
    /// MessagePack-CSharp's standard resolver, which binds <c>[Key]</c> attributes, plus the
    /// service's <see cref="JsonElementFormatter"/> for members declared as <c>JsonElement</c>.
    /// The event and lane formatters of the service are left out, so that the tests read its
    /// messages as an independent client would.
    /// </summary>
    public static readonly MessagePackSerializerOptions ClientOptions = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create([JsonElementFormatter.Instance], [StandardResolver.Instance]))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private readonly Channel<TEvent> _events = Channel.CreateUnbounded<TEvent>();
    private readonly Channel<TEvent[]> _batches = Channel.CreateUnbounded<TEvent[]>();
    private readonly Channel<TLane> _lanes = Channel.CreateUnbounded<TLane>();

    private MessagePackHubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<TEvent>("taskEvent", taskEvent => _events.Writer.TryWrite(taskEvent));
        connection.On<TEvent[]>("taskEvents", batch => _batches.Writer.TryWrite(batch));
        connection.On<TLane>("laneChanged", lane => _lanes.Writer.TryWrite(lane));
    }

    public HubConnection Connection { get; }

    public static async Task<MessagePackHubClient<TEvent, TLane>> ConnectAsync(AgentApiFactory factory)
    {
        var connection = HubClient.Build(
            factory.ServerAddress,
            AgentApiFactory.AdminKey,
            builder => builder.AddMessagePackProtocol(options => options.SerializerOptions = ClientOptions));
        var client = new MessagePackHubClient<TEvent, TLane>(connection);
        await client.Connection.StartAsync().WaitAsync(TestTimeouts.Request);
        return client;
    }

    public Task SubscribeAllAsync() => Connection.InvokeAsync("SubscribeAll").WaitAsync(TestTimeouts.Request);

    public Task SubscribeAllBatchedAsync() => Connection.InvokeAsync("SubscribeAllBatched").WaitAsync(TestTimeouts.Request);

    public Task SubscribeTaskAsync(Guid taskId, long afterSequence) =>
        Connection.InvokeAsync("SubscribeTask", taskId, afterSequence).WaitAsync(TestTimeouts.Request);

    public async Task<TEvent> NextEventAsync() =>
        await _events.Reader.ReadAsync().AsTask().WaitAsync(TestTimeouts.Task);

    /// <summary>Reads <c>taskEvent</c> messages, or the events of <c>taskEvents</c> batches, until <paramref name="count"/> events are read.</summary>
    public async Task<List<TEvent>> ReadEventsAsync(int count, bool batched)
    {
        List<TEvent> read = [];
        while (read.Count < count)
        {
            if (batched)
            {
                read.AddRange(await _batches.Reader.ReadAsync().AsTask().WaitAsync(TestTimeouts.Task));
            }
            else
            {
                read.Add(await NextEventAsync());
            }
        }

        return read;
    }

    public async Task<TLane> NextLaneAsync() =>
        await _lanes.Reader.ReadAsync().AsTask().WaitAsync(TestTimeouts.Task);

    /// <summary>Messages received so far and not read yet: <c>taskEvent</c> and <c>taskEvents</c> together.</summary>
    public int CountUnread()
    {
        var unread = 0;
        while (_events.Reader.TryRead(out _))
        {
            unread++;
        }

        while (_batches.Reader.TryRead(out _))
        {
            unread++;
        }

        return unread;
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}

/// <summary>A task event as a .NET MessagePack client declares it, with the hub's camelCase keys.</summary>
[MessagePackObject]
public sealed class MessagePackTaskEvent
{
    [Key("taskId")]
    public Guid TaskId { get; set; }

    [Key("sequence")]
    public long Sequence { get; set; }

    [Key("type")]
    public string Type { get; set; } = "";

    /// <summary>The MessagePack timestamp extension, which MessagePack-CSharp reads as a UTC <see cref="DateTime"/>.</summary>
    [Key("timestamp")]
    public DateTime Timestamp { get; set; }

    [Key("data")]
    public System.Text.Json.JsonElement? Data { get; set; }
}

/// <summary>A lane as a .NET MessagePack client declares it, with the hub's camelCase keys.</summary>
[MessagePackObject]
public sealed class MessagePackLane
{
    [Key("name")]
    public string Name { get; set; } = "";

    [Key("maxConcurrent")]
    public int MaxConcurrent { get; set; }

    [Key("active")]
    public int Active { get; set; }

    [Key("queued")]
    public int Queued { get; set; }

    [Key("completed")]
    public long Completed { get; set; }

    [Key("failed")]
    public long Failed { get; set; }

    [Key("waitMs")]
    public MessagePackLaneWait? WaitMs { get; set; }

    [Key("waitReason")]
    public string? WaitReason { get; set; }

    [Key("oldestWaitMs")]
    public double? OldestWaitMs { get; set; }

    [Key("rateLimited")]
    public int RateLimited { get; set; }
}

[MessagePackObject]
public sealed class MessagePackLaneWait
{
    [Key("p50")]
    public double P50 { get; set; }

    [Key("p95")]
    public double P95 { get; set; }
}

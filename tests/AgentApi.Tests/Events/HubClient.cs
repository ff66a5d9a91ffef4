using System.Threading.Channels;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace AgentApi.Tests.Events;

/// <summary>A real SignalR client of <c>/hubs/tasks</c> over WebSockets that keeps what it receives.</summary>
internal sealed class HubClient : IAsyncDisposable
{
    private readonly Channel<TaskEventDto> _events = Channel.CreateUnbounded<TaskEventDto>();
    private readonly Channel<TaskEventDto[]> _batches = Channel.CreateUnbounded<TaskEventDto[]>();
    private readonly Channel<LaneDto> _lanes = Channel.CreateUnbounded<LaneDto>();

    private HubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<TaskEventDto>("taskEvent", taskEvent => _events.Writer.TryWrite(taskEvent));
        connection.On<TaskEventDto[]>("taskEvents", batch => _batches.Writer.TryWrite(batch));
        connection.On<LaneDto>("laneChanged", lane => _lanes.Writer.TryWrite(lane));
    }

    public HubConnection Connection { get; }

    /// <summary>Builds a connection over WebSockets; <paramref name="configure"/> may add a hub protocol, which the connection then uses.</summary>
    public static HubConnection Build(Uri serverAddress, string? key, Action<IHubConnectionBuilder>? configure = null)
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(serverAddress, "/hubs/tasks"), options =>
            {
                options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                if (key is not null)
                {
                    options.Headers["X-Api-Key"] = key;
                }
            });
        configure?.Invoke(builder);
        return builder.Build();
    }

    public static async Task<HubClient> ConnectAsync(AgentApiFactory factory, string key = AgentApiFactory.AdminKey)
    {
        var client = new HubClient(Build(factory.ServerAddress, key));
        await client.Connection.StartAsync().WaitAsync(TestTimeouts.Request);
        return client;
    }

    public Task SubscribeTaskAsync(Guid taskId, long afterSequence) =>
        Connection.InvokeAsync("SubscribeTask", taskId, afterSequence).WaitAsync(TestTimeouts.Request);

    public Task SubscribeAllAsync() => Connection.InvokeAsync("SubscribeAll").WaitAsync(TestTimeouts.Request);

    public Task SubscribeAllBatchedAsync() => Connection.InvokeAsync("SubscribeAllBatched").WaitAsync(TestTimeouts.Request);

    public async Task<TaskEventDto> NextEventAsync(TimeSpan? timeout = null) =>
        await _events.Reader.ReadAsync().AsTask().WaitAsync(timeout ?? TestTimeouts.Task);

    /// <summary>Reads events until one matches <paramref name="predicate"/>, and returns every event read, that one included.</summary>
    public async Task<List<TaskEventDto>> ReadUntilAsync(Func<TaskEventDto, bool> predicate, TimeSpan? timeout = null)
    {
        List<TaskEventDto> read = [];
        while (true)
        {
            var next = await NextEventAsync(timeout);
            read.Add(next);
            if (predicate(next))
            {
                return read;
            }
        }
    }

    /// <summary>Returns the next <c>taskEvents</c> batch.</summary>
    public async Task<TaskEventDto[]> NextBatchAsync(TimeSpan? timeout = null) =>
        await _batches.Reader.ReadAsync().AsTask().WaitAsync(timeout ?? TestTimeouts.Task);

    /// <summary>Reads batches until they hold <paramref name="count"/> events in all, and returns the batches.</summary>
    public async Task<List<TaskEventDto[]>> ReadBatchesAsync(int count, TimeSpan? timeout = null)
    {
        List<TaskEventDto[]> read = [];
        var events = 0;
        while (events < count)
        {
            var batch = await NextBatchAsync(timeout);
            read.Add(batch);
            events += batch.Length;
        }

        return read;
    }

    /// <summary>Reads batches until an event matches <paramref name="predicate"/>, and returns the events of every batch read.</summary>
    public async Task<List<TaskEventDto>> ReadBatchedUntilAsync(Func<TaskEventDto, bool> predicate, TimeSpan? timeout = null)
    {
        List<TaskEventDto> read = [];
        while (true)
        {
            var batch = await NextBatchAsync(timeout);
            read.AddRange(batch);
            if (batch.Any(predicate))
            {
                return read;
            }
        }
    }

    public async Task<LaneDto> NextLaneAsync(TimeSpan? timeout = null) =>
        await _lanes.Reader.ReadAsync().AsTask().WaitAsync(timeout ?? TestTimeouts.Task);

    /// <summary>Events received so far and not read yet.</summary>
    public List<TaskEventDto> Drain()
    {
        List<TaskEventDto> drained = [];
        while (_events.Reader.TryRead(out var next))
        {
            drained.Add(next);
        }

        return drained;
    }

    /// <summary><c>taskEvents</c> batches received so far and not read yet.</summary>
    public List<TaskEventDto[]> DrainBatches()
    {
        List<TaskEventDto[]> drained = [];
        while (_batches.Reader.TryRead(out var next))
        {
            drained.Add(next);
        }

        return drained;
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}

internal sealed record LaneDto(string Name, int MaxConcurrent, int Active, int Queued, long Completed);

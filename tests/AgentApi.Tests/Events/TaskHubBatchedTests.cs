using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using AgentApi.Events;
using AgentApi.Storage;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentApi.Tests.Events;

/// <summary><c>SubscribeAllBatched</c> and its <c>taskEvents</c> batches, next to the per-event <c>SubscribeAll</c>.</summary>
public sealed class TaskHubBatchedTests
{
    private static readonly string[] FinalTypes = ["succeeded", "failed", "cancelled", "timed_out"];

    [Fact]
    public async Task SubscribeAllBatched_SeveralTasks_ReceivesEachOnceInOrder()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "600000",
            ["Events:MaxBatchSize"] = "20",
        });
        using var http = factory.CreateAuthenticatedClient();
        await using var client = await HubClient.ConnectAsync(factory);
        await client.SubscribeAllBatchedAsync();
        List<Guid> taskIds = [];
        for (var i = 0; i < 4; i++)
        {
            taskIds.Add(await factory.SubmitAsync(http, new { agent = "general-purpose", input = $"wait for the test {i}" }));
        }

        // 4 tasks of 250 stored events each, written side by side, so batches mix the tasks.
        var store = factory.Services.GetRequiredService<TaskStore>();
        await Task.WhenAll(taskIds.Select(taskId => Task.Run(async () =>
        {
            for (var step = 0; step < 250; step++)
            {
                var current = step;
                await store.UpdateAsync(taskId, (task, events) =>
                {
                    events.Add(TaskEventTypes.Progress, new { percent = current / 3, step = current });
                    return true;
                }, CancellationToken.None);
            }
        }))).WaitAsync(TestTimeouts.Task * 4);
        foreach (var taskId in taskIds)
        {
            var cancel = await http.PostAsync($"/api/tasks/{taskId}/cancel", null).WaitAsync(TestTimeouts.Request);
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        List<TaskEventDto> received = [];
        List<int> batchSizes = [];
        var finished = new HashSet<Guid>();
        while (finished.Count < taskIds.Count)
        {
            var batch = await client.NextBatchAsync();
            received.AddRange(batch);
            batchSizes.Add(batch.Length);
            finished.UnionWith(batch.Where(e => FinalTypes.Contains(e.Type)).Select(e => e.TaskId));
        }

        foreach (var taskId in taskIds)
        {
            var stored = await store.GetEventsAsync(taskId, 0, 5_000, CancellationToken.None);
            var expected = stored.Where(e => e.Type != TaskEventTypes.Output).Select(e => e.Sequence);
            var actual = received.Where(e => e.TaskId == taskId).Select(e => e.Sequence);
            Assert.Equal(expected, actual);
            Assert.Equal(250, received.Count(e => e.TaskId == taskId && e.Type == TaskEventTypes.Progress));
        }

        Assert.Equal(taskIds.Count * 250, received.Count(e => e.Type == TaskEventTypes.Progress));
        Assert.All(batchSizes, size => Assert.InRange(size, 1, 20));
        Assert.Empty(client.Drain());
    }

    [Fact]
    public async Task SubscribeAllBatched_Burst_SplitsAtMaxSize()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Events:MaxBatchSize"] = "100",
            ["Events:BatchInterval"] = "00:00:01",
        });
        await using var client = await HubClient.ConnectAsync(factory);
        await client.SubscribeAllBatchedAsync();
        var events = SyntheticEvents(tasks: 5, count: 250);

        var published = Stopwatch.StartNew();
        factory.Services.GetRequiredService<TaskEventBus>().Publish(events);
        var batches = await client.ReadBatchesAsync(250);
        var lastArrived = published.Elapsed;

        Assert.Equal([100, 100, 50], batches.Select(batch => batch.Length));
        Assert.Equal(events.Select(e => (e.TaskId, e.Sequence)), batches.SelectMany(batch => batch).Select(e => (e.TaskId, e.Sequence)));
        Assert.True(lastArrived >= TimeSpan.FromMilliseconds(900), $"The last 50 events arrived {lastArrived.TotalMilliseconds:F0} ms after the publish, before the 1 s interval.");
        await Task.Delay(200);
        Assert.Empty(client.DrainBatches());
    }

    [Fact]
    public async Task SubscribeAllBatched_Events_MatchPerEventMessages()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        await using var perEvent = await HubClient.ConnectAsync(factory);
        await perEvent.SubscribeAllAsync();
        await using var batched = await HubClient.ConnectAsync(factory);
        await batched.SubscribeAllBatchedAsync();
        var events = SyntheticEvents(tasks: 3, count: 300);

        var bus = factory.Services.GetRequiredService<TaskEventBus>();
        foreach (var chunk in events.Chunk(40))
        {
            bus.Publish(chunk);
        }

        var single = new List<TaskEventDto>();
        for (var i = 0; i < events.Count; i++)
        {
            single.Add(await perEvent.NextEventAsync());
        }

        var inBatches = (await batched.ReadBatchesAsync(events.Count)).SelectMany(batch => batch).ToList();

        Assert.Equal(events.Select(e => (e.TaskId, e.Sequence)), single.Select(e => (e.TaskId, e.Sequence)));
        Assert.Equal(events.Count, inBatches.Count);
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(single[i].TaskId, inBatches[i].TaskId);
            Assert.Equal(single[i].Sequence, inBatches[i].Sequence);
            Assert.Equal(single[i].Type, inBatches[i].Type);
            Assert.Equal(single[i].Timestamp, inBatches[i].Timestamp);
            Assert.Equal(single[i].Data!.Value.GetRawText(), inBatches[i].Data!.Value.GetRawText());
        }

        await Task.Delay(200);
        Assert.Empty(perEvent.DrainBatches());
        Assert.Empty(batched.Drain());
    }

    [Fact]
    public async Task SubscribeAll_BurstDuringSend_SharesWrites()
    {
        var manager = new GatedLifetimeManager();
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(configureServices: services =>
            services.AddSingleton<TaskHubLifetimeManager>(manager));
        await using var json = await HubClient.ConnectAsync(factory);
        await using var messagePack = await MessagePackHubClient<MessagePackTaskEvent, MessagePackLane>.ConnectAsync(factory);
        await json.SubscribeAllAsync();
        await messagePack.SubscribeAllAsync();
        var events = SyntheticEvents(tasks: 4, count: 1_201);
        var bus = factory.Services.GetRequiredService<TaskEventBus>();

        // The first event's send waits at the gate, so the other 1,200 queue up behind it.
        bus.Publish(events[..1]);
        await manager.FirstSendStarted.WaitAsync(TestTimeouts.Request);
        foreach (var chunk in events.Skip(1).Chunk(100))
        {
            bus.Publish(chunk);
        }

        manager.OpenGate();
        var fromJson = await ReadEventsAsync(json, events.Count);
        var fromMessagePack = await messagePack.ReadEventsAsync(events.Count, batched: false);

        var expected = events.Select(e => (e.TaskId, e.Sequence)).ToList();
        Assert.Equal(expected, fromJson.Select(e => (e.TaskId, e.Sequence)));
        Assert.Equal(expected, fromMessagePack.Select(e => (e.TaskId, e.Sequence)));
        Assert.Equal([1, DashboardBroadcaster.MaxEventsPerWrite, DashboardBroadcaster.MaxEventsPerWrite, 200], manager.SendSizes);
        await Task.Delay(200);
        Assert.Empty(json.Drain());
        Assert.Equal(0, messagePack.CountUnread());
    }

    [Fact]
    public async Task SubscribeAll_BufferFull_DropsAndLogsCount()
    {
        var manager = new GatedLifetimeManager();
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(
            settings: new Dictionary<string, string?> { ["Events:BroadcastBufferSize"] = "10" },
            configureServices: services => services.AddSingleton<TaskHubLifetimeManager>(manager));
        await using var client = await HubClient.ConnectAsync(factory);
        await client.SubscribeAllAsync();
        var events = SyntheticEvents(tasks: 2, count: 101);
        var bus = factory.Services.GetRequiredService<TaskEventBus>();

        // The first event's send waits at the gate: 10 more fit in the buffer, and 90 are dropped.
        bus.Publish(events[..1]);
        await manager.FirstSendStarted.WaitAsync(TestTimeouts.Request);
        bus.Publish(events[1..]);
        manager.OpenGate();
        var received = await ReadEventsAsync(client, 11);

        Assert.Equal(events.Take(11).Select(e => (e.TaskId, e.Sequence)), received.Select(e => (e.TaskId, e.Sequence)));
        var warning = Assert.Single(factory.Logs.Entries, entry => entry.EventId.Id == 8002);
        Assert.Contains("fell behind by 10 events and dropped 90 events", warning.Message, StringComparison.Ordinal);
        await Task.Delay(200);
        Assert.Empty(client.Drain());
    }

    [Fact]
    public async Task SubscribeAll_StalledClient_IsClosed()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Events:SlowClientTimeout"] = "00:00:02",
        });
        await using var reader = await HubClient.ConnectAsync(factory);
        await reader.SubscribeAllAsync();
        using var stalled = await ConnectRawSubscriberAsync(factory);
        var manager = factory.Services.GetRequiredService<TaskHubLifetimeManager>();
        var joined = Stopwatch.StartNew();
        while (manager.AllEventsConnectionCount < 2 && joined.Elapsed < TestTimeouts.Request)
        {
            await Task.Delay(20);
        }

        // About 20 MB of events, more than the sockets and pipes to the stalled client take. Nothing
        // is sent afterwards, so the check at each lane interval has to find the stalled client.
        var burst = PaddedEvents(Guid.NewGuid(), count: 5_000, padding: 4_000);
        factory.Services.GetRequiredService<TaskEventBus>().Publish(burst);
        var fromBurst = await ReadEventsAsync(reader, burst.Count);

        // Reading the stalled socket would let it catch up, so it is read only after the warning.
        var waited = Stopwatch.StartNew();
        while (!factory.Logs.Entries.Any(entry => entry.EventId.Id == 8011) && waited.Elapsed < TestTimeouts.Request)
        {
            await Task.Delay(50);
        }

        var closed = await DrainUntilClosedAsync(stalled);

        Assert.Equal(burst.Select(e => (e.TaskId, e.Sequence)), fromBurst.Select(e => (e.TaskId, e.Sequence)));
        Assert.True(closed, "The client that stopped reading was still open after it read everything sent to it.");
        var warning = Assert.Single(factory.Logs.Entries, entry => entry.EventId.Id == 8011);
        Assert.Contains("its oldest unsent message waited longer than 00:00:02", warning.Message, StringComparison.Ordinal);
        Assert.Equal(1, manager.AllEventsConnectionCount);
    }

    [Fact]
    public async Task SubscribeAll_ClientLeaves_OthersStillReceive()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        var manager = factory.Services.GetRequiredService<TaskHubLifetimeManager>();
        await using var staying = await HubClient.ConnectAsync(factory);
        var leaving = await HubClient.ConnectAsync(factory);
        await staying.SubscribeAllAsync();
        await leaving.SubscribeAllAsync();
        Assert.Equal(2, manager.AllEventsConnectionCount);

        await leaving.DisposeAsync();
        var left = Stopwatch.StartNew();
        while (manager.AllEventsConnectionCount > 1 && left.Elapsed < TestTimeouts.Request)
        {
            await Task.Delay(20);
        }

        var events = SyntheticEvents(tasks: 2, count: 50);
        factory.Services.GetRequiredService<TaskEventBus>().Publish(events);
        var received = await ReadEventsAsync(staying, events.Count);

        Assert.Equal(1, manager.AllEventsConnectionCount);
        Assert.Equal(events.Select(e => (e.TaskId, e.Sequence)), received.Select(e => (e.TaskId, e.Sequence)));
        Assert.DoesNotContain(factory.Logs.Entries, entry => entry.Level >= LogLevel.Warning && entry.Category.StartsWith("AgentApi", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_WithoutKeyOrReadScope_IsRejected()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        using var admin = factory.CreateAuthenticatedClient();
        var created = await admin.PostAsJsonAsync("/api/keys", new { name = "producer", scopes = new[] { "submit" } }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var submitKey = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString();

        await using var anonymous = HubClient.Build(factory.ServerAddress, key: null);
        var noKey = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync().WaitAsync(TestTimeouts.Request));
        await using var producer = HubClient.Build(factory.ServerAddress, submitKey);
        var noScope = await Assert.ThrowsAsync<HttpRequestException>(() => producer.StartAsync().WaitAsync(TestTimeouts.Request));

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, noScope.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubscribeAll_OtherModeSecond_FailsAndKeepsFirst(bool batchedFirst)
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        await using var client = await HubClient.ConnectAsync(factory);
        Func<Task> subscribeFirst = batchedFirst ? client.SubscribeAllBatchedAsync : client.SubscribeAllAsync;
        Func<Task> subscribeSecond = batchedFirst ? client.SubscribeAllAsync : client.SubscribeAllBatchedAsync;
        await subscribeFirst();

        await subscribeFirst();
        var switching = await Assert.ThrowsAsync<HubException>(subscribeSecond);
        var events = SyntheticEvents(tasks: 2, count: 30);
        factory.Services.GetRequiredService<TaskEventBus>().Publish(events);
        var received = batchedFirst
            ? (await client.ReadBatchesAsync(events.Count)).SelectMany(batch => batch).ToList()
            : await client.ReadUntilAsync(e => e.Sequence == events[^1].Sequence && e.TaskId == events[^1].TaskId);

        var firstMethod = batchedFirst ? "SubscribeAllBatched" : "SubscribeAll";
        Assert.Contains($"already called {firstMethod},", switching.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(factory.Logs.Entries, entry => entry.Level >= LogLevel.Error);
        Assert.Equal(events.Select(e => (e.TaskId, e.Sequence)), received.Select(e => (e.TaskId, e.Sequence)));
        await Task.Delay(200);
        Assert.Empty(client.Drain());
        Assert.Empty(client.DrainBatches());
    }

    [Theory]
    [InlineData("Events:BatchInterval", "00:00:00", "Events:BatchInterval must be from 00:00:00.001 to 00:00:01")]
    [InlineData("Events:BatchInterval", "00:00:02", "Events:BatchInterval must be from 00:00:00.001 to 00:00:01")]
    [InlineData("Events:MaxBatchSize", "0", "Events:MaxBatchSize must be from 1 to 10000 events.")]
    [InlineData("Events:MaxBatchSize", "10001", "Events:MaxBatchSize must be from 1 to 10000 events.")]
    [InlineData("Events:SlowClientTimeout", "00:00:00.050", "Events:SlowClientTimeout must be from 00:00:00.100 to 00:10:00")]
    [InlineData("Events:SlowClientTimeout", "01:00:00", "Events:SlowClientTimeout must be from 00:00:00.100 to 00:10:00")]
    public void EventOptions_InvalidBatchSetting_Fails(string key, string value, string expectedMessage)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        using var services = new ServiceCollection()
            .AddLogging()
            .AddEvents(configuration, new StorageInfo(StorageMode.Embedded, null, null))
            .BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<EventOptions>>().Value);

        Assert.Contains(expectedMessage, exception.Message, StringComparison.Ordinal);
    }

    private static List<TaskEvent> PaddedEvents(Guid taskId, int count, int padding)
    {
        var text = new string('x', padding);
        return Enumerable.Range(1, count).Select(sequence => new TaskEvent
        {
            TaskId = taskId,
            Sequence = sequence,
            Type = TaskEventTypes.Progress,
            Timestamp = TimeProvider.System.GetUtcNow(),
            DataJson = $$"""{"padding":"{{text}}"}""",
        }).ToList();
    }

    /// <summary>
    /// Opens a WebSocket to the hub, completes the JSON handshake and calls <c>SubscribeAll</c>,
    /// then reads nothing more, like a client that hangs.
    /// </summary>
    private static async Task<ClientWebSocket> ConnectRawSubscriberAsync(AgentApiFactory factory)
    {
        var socket = new ClientWebSocket();
        var address = new UriBuilder(factory.ServerAddress)
        {
            Scheme = "ws",
            Path = TaskHub.Path,
            Query = $"access_token={AgentApiFactory.AdminKey}",
        };
        await socket.ConnectAsync(address.Uri, CancellationToken.None).WaitAsync(TestTimeouts.Request);
        await SendTextAsync(socket, "{\"protocol\":\"json\",\"version\":1}\u001e");
        var handshake = new byte[256];
        var answer = await socket.ReceiveAsync(handshake, CancellationToken.None).WaitAsync(TestTimeouts.Request);
        Assert.Equal("{}\u001e", Encoding.UTF8.GetString(handshake, 0, answer.Count));
        await SendTextAsync(socket, "{\"type\":1,\"target\":\"SubscribeAll\",\"arguments\":[]}\u001e");
        return socket;
    }

    private static Task SendTextAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None)
            .WaitAsync(TestTimeouts.Request);

    /// <summary>Reads what was sent to <paramref name="socket"/> until the service closes it; false if it is still open after that.</summary>
    private static async Task<bool> DrainUntilClosedAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var deadline = Stopwatch.StartNew();
        try
        {
            while (deadline.Elapsed < TestTimeouts.Task)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TestTimeouts.Request);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return true;
                }
            }
        }
        catch (WebSocketException)
        {
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }

        return false;
    }

    private static async Task<List<TaskEventDto>> ReadEventsAsync(HubClient client, int count)
    {
        var received = new List<TaskEventDto>(count);
        for (var i = 0; i < count; i++)
        {
            received.Add(await client.NextEventAsync());
        }

        return received;
    }

    /// <summary>
    /// Creates <paramref name="count"/> <c>progress</c> events spread over new task ids in turn,
    /// each task's sequences from 1, for <see cref="TaskEventBus.Publish"/> without storing them.
    /// </summary>
    private static List<TaskEvent> SyntheticEvents(int tasks, int count)
    {
        var taskIds = Enumerable.Range(0, tasks).Select(_ => Guid.NewGuid()).ToArray();
        var sequences = new long[tasks];
        var timestamp = TimeProvider.System.GetUtcNow();
        return Enumerable.Range(0, count).Select(index => new TaskEvent
        {
            TaskId = taskIds[index % tasks],
            Sequence = ++sequences[index % tasks],
            Type = TaskEventTypes.Progress,
            Timestamp = timestamp,
            DataJson = string.Create(CultureInfo.InvariantCulture, $$"""{"index":{{index}},"note":"synthetic"}"""),
        }).ToList();
    }

    /// <summary>Holds the first <c>SubscribeAll</c> send until the test opens the gate, and records how many events each send carried.</summary>
    private sealed class GatedLifetimeManager() : TaskHubLifetimeManager(
        NullLogger<DefaultHubLifetimeManager<TaskHub>>.Instance,
        NullLogger<TaskHubLifetimeManager>.Instance,
        Options.Create(new EventOptions()),
        TimeProvider.System)
    {
        private readonly TaskCompletionSource _firstSendStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<int> _sendSizes = [];

        public Task FirstSendStarted => _firstSendStarted.Task;

        public List<int> SendSizes
        {
            get
            {
                lock (_sendSizes)
                {
                    return [.. _sendSizes];
                }
            }
        }

        public void OpenGate() => _gate.TrySetResult();

        public override async Task SendEventsToAllAsync(IReadOnlyList<TaskEventResponse> events, CancellationToken cancellationToken)
        {
            lock (_sendSizes)
            {
                _sendSizes.Add(events.Count);
            }

            _firstSendStarted.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            await base.SendEventsToAllAsync(events, cancellationToken);
        }
    }
}

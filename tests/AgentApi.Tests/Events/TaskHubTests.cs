using System.Net;
using System.Net.Http.Json;
using AgentApi.Lanes;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Events;

public sealed class TaskHubTests
{
    private static readonly Dictionary<string, string?> SlowModel = new() { ["Models:Default:LatencyMs"] = "600000" };

    private static readonly string[] FinalTypes = ["succeeded", "failed", "cancelled", "timed_out"];

    [Fact]
    public async Task SubscribeTask_ReconnectAfterLastSequence_ReceivesEveryEventOnceInOrder()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: SlowModel);
        using var http = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(http, new { agent = "general-purpose", input = "wait for the test" });
        await AgentApiFactory.WaitForTaskAsync(http, taskId, task => task.Status == "running");
        var store = factory.Services.GetRequiredService<TaskStore>();

        // A thousand events stored while the first client reads, so that it gets stored and live ones.
        var writer = Task.Run(async () =>
        {
            for (var step = 0; step < 1_000; step++)
            {
                var current = step;
                await store.UpdateAsync(taskId, (task, events) =>
                {
                    events.Add(TaskEventTypes.Progress, new { percent = current / 10, step = current });
                    return true;
                }, CancellationToken.None);
            }
        });
        List<TaskEventDto> received;
        await using (var first = await HubClient.ConnectAsync(factory))
        {
            await first.SubscribeTaskAsync(taskId, 0);
            received = [];
            while (received.Count < 400)
            {
                received.Add(await first.NextEventAsync());
            }
        }

        await writer.WaitAsync(TestTimeouts.Task);
        var cancel = await http.PostAsync($"/api/tasks/{taskId}/cancel", null).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        await using var second = await HubClient.ConnectAsync(factory);
        await second.SubscribeTaskAsync(taskId, received[^1].Sequence);
        received.AddRange(await second.ReadUntilAsync(taskEvent => FinalTypes.Contains(taskEvent.Type)));

        Assert.Equal(Enumerable.Range(1, received.Count).Select(sequence => (long)sequence), received.Select(e => e.Sequence));
        Assert.Equal(1_000, received.Count(e => e.Type == TaskEventTypes.Progress && e.Data?.TryGetProperty("step", out _) == true));
        Assert.Equal("cancelled", received[^1].Type);
        Assert.All(received, e => Assert.Equal(taskId, e.TaskId));
        var stored = await factory.Services.GetRequiredService<TaskStore>().GetEventsAsync(taskId, 0, 5_000, CancellationToken.None);
        Assert.Equal(stored.Count, received.Count);
    }

    [Fact]
    public async Task SubscribeTask_FinishedTask_ReplaysItsEventsAndStops()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        using var http = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(http, new { agent = "general-purpose", input = "hello" });
        await AgentApiFactory.WaitForFinishAsync(http, taskId);
        await using var client = await HubClient.ConnectAsync(factory);

        await client.SubscribeTaskAsync(taskId, 1);
        var events = await client.ReadUntilAsync(taskEvent => FinalTypes.Contains(taskEvent.Type));

        Assert.Equal(2, events[0].Sequence);
        Assert.Equal("succeeded", events[^1].Type);
        await Task.Delay(200);
        Assert.Empty(client.Drain());
    }

    [Fact]
    public async Task Connect_WithoutKeyOrWithWrongKey_IsRejected()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();

        await using var anonymous = HubClient.Build(factory.ServerAddress, key: null);
        var noKey = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync().WaitAsync(TestTimeouts.Request));
        await using var wrong = HubClient.Build(factory.ServerAddress, key: "not-a-key-of-this-service");
        var wrongKey = await Assert.ThrowsAsync<HttpRequestException>(() => wrong.StartAsync().WaitAsync(TestTimeouts.Request));

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
    }

    [Fact]
    public async Task SubscribeTask_UnknownTaskOrNegativeSequence_FailsWithMessage()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        using var http = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(http, new { agent = "general-purpose", input = "hello" });
        await using var client = await HubClient.ConnectAsync(factory);

        var unknown = await Assert.ThrowsAsync<HubException>(() => client.SubscribeTaskAsync(Guid.NewGuid(), 0));
        var negative = await Assert.ThrowsAsync<HubException>(() => client.SubscribeTaskAsync(taskId, -1));
        var malformed = await Assert.ThrowsAsync<HubException>(
            () => Microsoft.AspNetCore.SignalR.Client.HubConnectionExtensions.InvokeAsync(client.Connection, "SubscribeTask", "not-a-task-id", 0L)
                .WaitAsync(TestTimeouts.Request));

        Assert.Contains("was not found", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("0 or more", negative.Message, StringComparison.Ordinal);
        Assert.Contains("not a valid task id", malformed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubscribeAll_TaskRuns_ReceivesLifecycleEventsAndLaneChanges(bool batched)
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "300",
        });
        using var http = factory.CreateAuthenticatedClient();
        await using var client = await HubClient.ConnectAsync(factory);
        await (batched ? client.SubscribeAllBatchedAsync() : client.SubscribeAllAsync());

        var taskId = await factory.SubmitAsync(http, new { agent = "general-purpose", input = "one two three four five six" });
        Func<TaskEventDto, bool> isFinal = e => e.TaskId == taskId && FinalTypes.Contains(e.Type);
        var events = batched ? await client.ReadBatchedUntilAsync(isFinal) : await client.ReadUntilAsync(isFinal);
        LaneDto lane;
        do
        {
            lane = await client.NextLaneAsync();
        }
        while (lane.Name != "main" || lane.Completed < 1);

        var types = events.Where(e => e.TaskId == taskId).Select(e => e.Type).ToList();
        Assert.Equal("queued", types[0]);
        Assert.Contains("started", types);
        Assert.Equal("succeeded", types[^1]);
        Assert.DoesNotContain(TaskEventTypes.Output, types);
        Assert.Equal(0, lane.Active);
        Assert.Equal(1, lane.MaxConcurrent);
        Assert.Empty(batched ? client.Drain() : client.DrainBatches());
    }

    [Fact]
    public async Task SubscribeAll_LaterConnection_GetsEveryLane()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        var lanes = factory.Services.GetRequiredService<LaneDispatcher>().GetSnapshots()
            .Select(snapshot => snapshot.Name)
            .Order(StringComparer.Ordinal)
            .ToList();
        await using var first = await HubClient.ConnectAsync(factory);
        await first.SubscribeAllAsync();
        var firstLanes = await ReadEveryLaneAsync(first, lanes);

        // Nothing changes from here on, so only the join can make the service send lanes again.
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        await using var second = await HubClient.ConnectAsync(factory);
        await second.SubscribeAllBatchedAsync();
        var secondLanes = await ReadEveryLaneAsync(second, lanes);

        Assert.Equal(lanes, firstLanes);
        Assert.Equal(lanes, secondLanes);
    }

    [Fact]
    public async Task TwoInstances_EventStoredOnOne_ReachesClientsOfTheOther()
    {
        await using var first = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: SlowModel);
        await using var second = await AgentApiFactory.StartPostgresOnKestrelAsync(first.PostgresConnectionString, SlowModel);
        using var http = first.CreateAuthenticatedClient();
        var taskId = await first.SubmitAsync(http, new { agent = "general-purpose", input = "wait for the test" });
        await using var onSecond = await HubClient.ConnectAsync(second);
        await using var allOnSecond = await HubClient.ConnectAsync(second);
        await allOnSecond.SubscribeAllAsync();
        await onSecond.SubscribeTaskAsync(taskId, 0);
        await onSecond.ReadUntilAsync(e => e.Type == "queued");

        // Stored through the first instance only: the second hears of it through PostgreSQL.
        var store = first.Services.GetRequiredService<TaskStore>();
        var change = await store.UpdateAsync(taskId, (task, events) =>
        {
            events.Add(TaskEventTypes.Progress, new { percent = 42, message = "from the first instance" });
            return true;
        }, CancellationToken.None).WaitAsync(TestTimeouts.Request);
        var sequence = change!.Events[0].Sequence;

        var followed = await onSecond.ReadUntilAsync(e => e.Sequence == sequence);
        var broadcast = await allOnSecond.ReadUntilAsync(e => e.TaskId == taskId && e.Sequence == sequence);

        Assert.Equal(TaskEventTypes.Progress, followed[^1].Type);
        Assert.Equal(42, followed[^1].Data!.Value.GetProperty("percent").GetInt32());
        Assert.Equal(TaskEventTypes.Progress, broadcast[^1].Type);
        Assert.Equal(followed.Select(e => e.Sequence), Enumerable.Range((int)followed[0].Sequence, followed.Count).Select(s => (long)s));
    }

    /// <summary>Reads <c>laneChanged</c> messages until every lane in <paramref name="lanes"/> has come; returns the names seen, sorted.</summary>
    private static async Task<List<string>> ReadEveryLaneAsync(HubClient client, IReadOnlyCollection<string> lanes)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        while (!lanes.All(seen.Contains))
        {
            seen.Add((await client.NextLaneAsync(TestTimeouts.Request)).Name);
        }

        return [.. seen];
    }
}

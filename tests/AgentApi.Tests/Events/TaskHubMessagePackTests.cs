using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using AgentApi.Events;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Events;

/// <summary>
/// The hub over the MessagePack protocol, each message compared with what a JSON client of the
/// same service receives at the same time.
/// </summary>
public sealed class TaskHubMessagePackTests
{
    private static readonly string[] FinalTypes = ["succeeded", "failed", "cancelled", "timed_out"];

    /// <summary>Event data of every JSON kind, nested, and numbers at the edges of each MessagePack type.</summary>
    private static readonly string[] DataSamples =
    [
        """{"index":0,"percent":42,"message":"half way"}""",
        """{"nested":{"list":[1,-2,3.5,"four",true,false,null,{"deep":[[]]}],"empty":{}},"flag":true}""",
        """{"max":9223372036854775807,"min":-9223372036854775808,"beyondLong":18446744073709551615,"small":-1}""",
        """{"fraction":0.1,"exponent":1.5e300,"negativeFraction":-2.25,"wholeAsFraction":2.0,"tiny":5e-324}""",
        """{"text":"quote \" backslash \\ tab \t unicode é 漢字 😀","empty":"","null":null}""",
        """[1,"two",{"three":3}]""",
        "\"a bare string\"",
        "12345",
        "false",
        "null",
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubscribeAll_MessagePack_MatchesJsonClient(bool batched)
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        await using var json = await HubClient.ConnectAsync(factory);
        await using var typed = await MessagePackHubClient<MessagePackTaskEvent, MessagePackLane>.ConnectAsync(factory);
        await using var raw = await MessagePackHubClient<Dictionary<string, object?>, Dictionary<string, object?>>.ConnectAsync(factory);
        await (batched ? json.SubscribeAllBatchedAsync() : json.SubscribeAllAsync());
        await (batched ? typed.SubscribeAllBatchedAsync() : typed.SubscribeAllAsync());
        await (batched ? raw.SubscribeAllBatchedAsync() : raw.SubscribeAllAsync());
        var events = SyntheticEvents(tasks: 3, count: 120);

        var bus = factory.Services.GetRequiredService<TaskEventBus>();
        foreach (var chunk in events.Chunk(25))
        {
            bus.Publish(chunk);
        }

        var fromJson = batched
            ? (await json.ReadBatchesAsync(events.Count)).SelectMany(batch => batch).ToList()
            : await ReadEventsAsync(json, events.Count);
        var fromTyped = await typed.ReadEventsAsync(events.Count, batched);
        var fromRaw = await raw.ReadEventsAsync(events.Count, batched);

        Assert.Equal(events.Select(e => (e.TaskId, e.Sequence)), fromJson.Select(e => (e.TaskId, e.Sequence)));
        Assert.Equal(events.Count, fromTyped.Count);
        Assert.Equal(events.Count, fromRaw.Count);
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(fromJson[i].TaskId, fromTyped[i].TaskId);
            Assert.Equal(fromJson[i].Sequence, fromTyped[i].Sequence);
            Assert.Equal(fromJson[i].Type, fromTyped[i].Type);
            Assert.Equal(DateTimeKind.Utc, fromTyped[i].Timestamp.Kind);
            Assert.Equal(fromJson[i].Timestamp.UtcDateTime, fromTyped[i].Timestamp);
            AssertSameData(fromJson[i].Data, fromTyped[i].Data);
            Assert.Equal(["taskId", "sequence", "type", "timestamp", "data"], fromRaw[i].Keys);
            Assert.Equal(fromJson[i].TaskId.ToString("D"), fromRaw[i]["taskId"]);
            Assert.IsType<DateTime>(fromRaw[i]["timestamp"]);
        }

        await Task.Delay(200);
        Assert.Empty(json.Drain());
        Assert.Empty(json.DrainBatches());
        Assert.Equal(0, typed.CountUnread());
        Assert.Equal(0, raw.CountUnread());
    }

    [Fact]
    public async Task SubscribeAll_MessagePackData_HasNativeTypes()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync();
        await using var raw = await MessagePackHubClient<Dictionary<string, object?>, Dictionary<string, object?>>.ConnectAsync(factory);
        await raw.SubscribeAllAsync();
        var events = SyntheticEvents(tasks: 1, count: 5);

        factory.Services.GetRequiredService<TaskEventBus>().Publish(events);
        var received = await raw.ReadEventsAsync(events.Count, batched: false);

        // MessagePack-CSharp reads untyped maps as Dictionary<object, object>, arrays as object[],
        // and integers as the type of their encoding, which is unsigned for positive ones.
        var first = Assert.IsType<Dictionary<object, object>>(received[0]["data"]);
        Assert.Equal(42, Convert.ToInt64(first["percent"], CultureInfo.InvariantCulture));
        Assert.Equal("half way", first["message"]);
        var second = Assert.IsType<Dictionary<object, object>>(received[1]["data"]);
        var nested = Assert.IsType<Dictionary<object, object>>(second["nested"]);
        var list = Assert.IsType<object[]>(nested["list"]);
        Assert.Equal(8, list.Length);
        Assert.Equal(3.5, Assert.IsType<double>(list[2]));
        Assert.Equal("four", list[3]);
        Assert.Equal(true, list[4]);
        Assert.Null(list[6]);
        Assert.Equal(true, second["flag"]);
        var third = Assert.IsType<Dictionary<object, object>>(received[2]["data"]);
        Assert.Equal(long.MaxValue, Convert.ToInt64(third["max"], CultureInfo.InvariantCulture));
        Assert.Equal(long.MinValue, Assert.IsType<long>(third["min"]));
        Assert.Equal(ulong.MaxValue, Assert.IsType<ulong>(third["beyondLong"]));
        var fourth = Assert.IsType<Dictionary<object, object>>(received[3]["data"]);
        Assert.Equal(0.1, Assert.IsType<double>(fourth["fraction"]));
        Assert.Equal(2.0, Assert.IsType<double>(fourth["wholeAsFraction"]));
        var fifth = Assert.IsType<Dictionary<object, object>>(received[4]["data"]);
        Assert.Equal("quote \" backslash \\ tab \t unicode é 漢字 😀", fifth["text"]);
        Assert.Null(fifth["null"]);
    }

    [Fact]
    public async Task SubscribeAll_MessagePackTaskRun_MatchesJsonClient()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "300",
        });
        using var http = factory.CreateAuthenticatedClient();
        await using var json = await HubClient.ConnectAsync(factory);
        await using var typed = await MessagePackHubClient<MessagePackTaskEvent, MessagePackLane>.ConnectAsync(factory);
        await using var raw = await MessagePackHubClient<Dictionary<string, object?>, Dictionary<string, object?>>.ConnectAsync(factory);
        await using var jsonElements = HubClient.Build(factory.ServerAddress, AgentApiFactory.AdminKey);
        var jsonLanes = Channel.CreateUnbounded<JsonElement>();
        jsonElements.On<JsonElement>("laneChanged", lane => jsonLanes.Writer.TryWrite(lane));
        await jsonElements.StartAsync().WaitAsync(TestTimeouts.Request);
        await jsonElements.InvokeAsync("SubscribeAll").WaitAsync(TestTimeouts.Request);
        await json.SubscribeAllAsync();
        await typed.SubscribeAllAsync();
        await raw.SubscribeAllAsync();

        var taskId = await factory.SubmitAsync(http, new { agent = "general-purpose", input = "one two three four five six" });
        var fromJson = await json.ReadUntilAsync(e => e.TaskId == taskId && FinalTypes.Contains(e.Type));
        var fromTyped = await typed.ReadEventsAsync(fromJson.Count, batched: false);
        var jsonLane = await NextMainLaneAsync(() => json.NextLaneAsync(), lane => (lane.Name, lane.Completed));
        var typedLane = await NextMainLaneAsync(typed.NextLaneAsync, lane => (lane.Name, lane.Completed));
        var rawLane = await raw.NextLaneAsync();
        var jsonLaneElement = await jsonLanes.Reader.ReadAsync().AsTask().WaitAsync(TestTimeouts.Task);

        Assert.Equal("queued", fromTyped[0].Type);
        Assert.Equal("succeeded", fromTyped[^1].Type);
        for (var i = 0; i < fromJson.Count; i++)
        {
            Assert.Equal(fromJson[i].TaskId, fromTyped[i].TaskId);
            Assert.Equal(fromJson[i].Sequence, fromTyped[i].Sequence);
            Assert.Equal(fromJson[i].Type, fromTyped[i].Type);
            Assert.Equal(fromJson[i].Timestamp.UtcDateTime, fromTyped[i].Timestamp);
            AssertSameData(fromJson[i].Data, fromTyped[i].Data);
        }

        Assert.Equal(jsonLane.Name, typedLane.Name);
        Assert.Equal(jsonLane.MaxConcurrent, typedLane.MaxConcurrent);
        Assert.Equal(jsonLane.Active, typedLane.Active);
        Assert.Equal(jsonLane.Queued, typedLane.Queued);
        Assert.Equal(jsonLane.Completed, typedLane.Completed);
        Assert.NotNull(typedLane.WaitMs);
        Assert.Equal(jsonLaneElement.EnumerateObject().Select(property => property.Name), rawLane.Keys);
    }

    /// <summary>Asserts that two <c>data</c> values are equal JSON, numbers compared by value.</summary>
    private static void AssertSameData(JsonElement? expected, JsonElement? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.True(
            JsonElement.DeepEquals(expected.Value, actual.Value),
            $"JSON client: {expected.Value.GetRawText()}; MessagePack client: {actual.Value.GetRawText()}");
    }

    private static async Task<List<TaskEventDto>> ReadEventsAsync(HubClient client, int count)
    {
        List<TaskEventDto> read = [];
        for (var i = 0; i < count; i++)
        {
            read.Add(await client.NextEventAsync());
        }

        return read;
    }

    /// <summary>Reads lanes until the <c>main</c> lane shows a completed task.</summary>
    private static async Task<TLane> NextMainLaneAsync<TLane>(Func<Task<TLane>> next, Func<TLane, (string Name, long Completed)> numbers)
    {
        while (true)
        {
            var lane = await next();
            if (numbers(lane) is ("main", >= 1))
            {
                return lane;
            }
        }
    }

    /// <summary>
    /// Creates <paramref name="count"/> <c>progress</c> events spread over new task ids in turn,
    /// each task's sequences from 1, with the data of <see cref="DataSamples"/> in turn.
    /// </summary>
    private static List<TaskEvent> SyntheticEvents(int tasks, int count)
    {
        var taskIds = Enumerable.Range(0, tasks).Select(_ => Guid.NewGuid()).ToArray();
        var sequences = new long[tasks];

        // Ticks below the millisecond, which a timestamp must keep.
        var timestamp = new DateTimeOffset(2026, 12, 4, 22, 30, 15, TimeSpan.Zero).AddTicks(1_234_567);
        return Enumerable.Range(0, count).Select(index => new TaskEvent
        {
            TaskId = taskIds[index % tasks],
            Sequence = ++sequences[index % tasks],
            Type = TaskEventTypes.Progress,
            Timestamp = timestamp.AddMilliseconds(index),
            DataJson = index % (DataSamples.Length + 1) == DataSamples.Length ? null : DataSamples[index % (DataSamples.Length + 1)],
        }).ToList();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using AgentApi.Events;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Events;

public sealed class EventStreamTests
{
    [Fact]
    public async Task ServerSentEvents_LastEventId_StartsAfterItAndEndsWithFinalEvent()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "hello there" });
        await AgentApiFactory.WaitForFinishAsync(client, taskId);

        using var request = StreamRequest(taskId, query: "?after=1");
        request.Headers.Add("Last-Event-ID", "2");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestTimeouts.Request);
        var items = await ReadAllAsync(response);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("3", items[0].EventId);
        Assert.Equal("succeeded", items[^1].EventType);
        Assert.Equal(
            Enumerable.Range(3, items.Count).Select(sequence => sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            items.Select(item => item.EventId));
        using var last = JsonDocument.Parse(items[^1].Data);
        Assert.Equal(taskId, last.RootElement.GetProperty("taskId").GetGuid());
        Assert.Equal(items.Count + 2, last.RootElement.GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task ServerSentEvents_RunningTask_StreamsLiveEventsUntilItIsCancelled()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "600000",
        });
        using var client = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "wait" });
        await AgentApiFactory.WaitForTaskAsync(client, taskId, task => task.Status == "running");

        using var request = StreamRequest(taskId, query: "");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestTimeouts.Request);
        var reading = ReadAllAsync(response);
        await Task.Delay(300);
        var cancel = await client.PostAsync($"/api/tasks/{taskId}/cancel", null).WaitAsync(TestTimeouts.Request);
        var items = await reading;

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(["queued", "started"], items.Take(2).Select(item => item.EventType));
        Assert.Contains("cancel_requested", items.Select(item => item.EventType));
        Assert.Equal("cancelled", items[^1].EventType);
    }

    [Fact]
    public async Task Feed_LiveBufferOverflows_ReadsStoreWithoutGap()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(settings: new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "600000",
        });
        using var client = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "wait" });
        await AgentApiFactory.WaitForTaskAsync(client, taskId, task => task.Status == "running");
        var store = factory.Services.GetRequiredService<TaskStore>();
        var startedAt = (await store.GetEventsAsync(taskId, 0, 100, CancellationToken.None))[^1].Sequence;
        await using var stream = factory.Services.GetRequiredService<TaskEventFeed>()
            .StreamAsync(taskId, startedAt, CancellationToken.None)
            .GetAsyncEnumerator();

        // The first read waits for a live event; until the next one, nothing empties the buffer.
        var first = stream.MoveNextAsync();
        var added = TaskEventFeed.LiveBufferSize + 200;
        for (var step = 0; step < added; step++)
        {
            var current = step;
            await store.UpdateAsync(taskId, (_, events) =>
            {
                events.Add(TaskEventTypes.Progress, new { step = current });
                return true;
            }, CancellationToken.None);
        }

        var cancel = await client.PostAsync($"/api/tasks/{taskId}/cancel", null).WaitAsync(TestTimeouts.Request);
        await AgentApiFactory.WaitForTaskAsync(client, taskId, task => task.Status == "cancelled");
        List<TaskEvent> received = [];
        Assert.True(await first.AsTask().WaitAsync(TestTimeouts.Request));
        received.Add(stream.Current);
        while (await stream.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Request))
        {
            received.Add(stream.Current);
        }

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(Enumerable.Range((int)startedAt + 1, received.Count).Select(sequence => (long)sequence), received.Select(e => e.Sequence));
        Assert.Equal(added, received.Count(e => e.Type == TaskEventTypes.Progress));
        Assert.Equal("cancelled", received[^1].Type);
    }

    [Fact]
    public async Task ServerSentEvents_BadLastEventId_Is400NamingTheHeader()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "hello" });

        using var request = StreamRequest(taskId, query: "");
        request.Headers.Add("Last-Event-ID", "seven");
        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);
        var problem = await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Last-Event-ID", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?after=-1", HttpStatusCode.BadRequest)]
    [InlineData("", HttpStatusCode.NotFound)]
    public async Task ServerSentEvents_Rejected_IsFullProblemDetails(string query, HttpStatusCode status)
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();
        var taskId = status == HttpStatusCode.NotFound
            ? Guid.NewGuid()
            : await factory.SubmitAsync(client, new { agent = "general-purpose", input = "hello" });

        using var request = StreamRequest(taskId, query);
        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("traceId").GetString()));
    }

    private static HttpRequestMessage StreamRequest(Guid taskId, string query)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/tasks/{taskId}/events{query}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }

    private static async Task<List<SseItem<string>>> ReadAllAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        List<SseItem<string>> items = [];
        await foreach (var item in SseParser.Create(body).EnumerateAsync().WithCancellation(new CancellationTokenSource(TestTimeouts.Task).Token))
        {
            items.Add(item);
        }

        return items;
    }
}

using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Tasks;

/// <summary>
/// A task event's timestamp must read the same live (hub, live SSE) and from the store (GET
/// events, replay), so that a client that reconnects receives the events it already has unchanged.
/// </summary>
public sealed class EventTimestampTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PublishedTimestamp_EqualsStoredTimestamp(bool embedded)
    {
        var settings = new Dictionary<string, string?> { ["Models:Default:LatencyMs"] = "600000" };
        await using var factory = embedded
            ? AgentApiFactory.StartEmbedded(settings)
            : await AgentApiFactory.StartPostgresAsync(settings);
        using var client = factory.CreateAuthenticatedClient();
        var taskId = await factory.SubmitAsync(client, new { input = "wait for the test" });
        var store = factory.Services.GetRequiredService<TaskStore>();

        List<TaskEvent> published = [];
        for (var step = 0; step < 20; step++)
        {
            var current = step;
            var change = await store.UpdateAsync(taskId, (task, events) =>
            {
                events.Add(TaskEventTypes.Progress, new { step = current });
                return true;
            }, CancellationToken.None).WaitAsync(TestTimeouts.Request);
            published.AddRange(change!.Events);
        }

        var stored = (await store.GetEventsAsync(taskId, 0, 1_000, CancellationToken.None))
            .ToDictionary(taskEvent => taskEvent.Sequence);
        Assert.Equal(20, published.Count);
        foreach (var taskEvent in published)
        {
            Assert.Equal(stored[taskEvent.Sequence].Timestamp, taskEvent.Timestamp);
        }

        await client.PostAsync($"/api/tasks/{taskId}/cancel", null).WaitAsync(TestTimeouts.Request);
    }
}

using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Queues;

public sealed class StrictPriorityTests
{
    private static readonly Dictionary<string, string?> OneWorker = new()
    {
        ["Queues:WorkerCount"] = "1",
        ["Models:Default:LatencyMs"] = "150",
    };

    [Fact]
    public async Task Postgres_BusyWorkerWithBacklog_TakesHighThenDefaultThenLow()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(OneWorker);

        await AssertStrictOrderAsync(factory);
    }

    [Fact]
    public async Task Embedded_BusyWorkerWithBacklog_TakesHighThenDefaultThenLow()
    {
        await using var factory = AgentApiFactory.StartEmbedded(OneWorker);

        await AssertStrictOrderAsync(factory);
    }

    private static async Task AssertStrictOrderAsync(AgentApiFactory factory)
    {
        using var client = factory.CreateAuthenticatedClient();

        // The one worker is busy with this task while the backlog builds up in all three queues.
        var blocker = await factory.SubmitAsync(client, new { input = "blocker", priority = "low" });
        await AgentApiFactory.WaitForTaskAsync(client, blocker, task => task.Status == "running");

        List<(Guid Id, string Priority)> backlog = [];
        foreach (var round in Enumerable.Range(0, 3))
        {
            foreach (var priority in new[] { "low", "default", "high" })
            {
                var id = await factory.SubmitAsync(client, new { input = $"{priority} {round}", priority });
                backlog.Add((id, priority));
            }
        }

        List<TaskDto> finished = [];
        foreach (var (id, _) in backlog)
        {
            finished.Add(await AgentApiFactory.WaitForFinishAsync(client, id));
        }

        var startOrder = finished.OrderBy(task => task.StartedAt).Select(task => task.Priority).ToList();
        Assert.Equal(
            ["high", "high", "high", "default", "default", "default", "low", "low", "low"],
            startOrder);

        // Within one priority the order is first in, first out.
        foreach (var priority in new[] { "high", "default", "low" })
        {
            var submitted = backlog.Where(item => item.Priority == priority).Select(item => item.Id).ToList();
            var started = finished.Where(task => task.Priority == priority).OrderBy(task => task.StartedAt).Select(task => task.Id).ToList();
            Assert.Equal(submitted, started);
        }
    }
}

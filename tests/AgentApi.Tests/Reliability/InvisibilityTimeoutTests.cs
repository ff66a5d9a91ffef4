using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Reliability;

/// <summary>A task that runs far longer than Hangfire's invisibility timeout.</summary>
[Trait("Category", "Reliability")]
public sealed class InvisibilityTimeoutTests
{
    [Fact]
    public async Task LongerThanInvisibility_StartsOnce()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Queues:InvisibilityTimeout"] = "00:00:01",

            // The task takes the Hangfire path, whose fetched job is what the timeout applies to.
            ["Tasks:StartInProcess"] = "false",
            ["Models:Default:LatencyMs"] = "6000",
        });
        using var client = factory.CreateAuthenticatedClient();

        var id = await factory.SubmitAsync(client, new { input = "outlasts the invisibility timeout" });
        var finished = await AgentApiFactory.WaitForFinishAsync(client, id);

        Assert.Equal("succeeded", finished.Status);
        Assert.Equal(1, finished.Attempts);
        var database = new ReliabilityDatabase(factory.PostgresConnectionString!);
        Assert.Equal(1, await database.CountAsync($"select count(*) from task_events where task_id = '{id}' and type = 'started'"));
        Assert.Equal(1, await database.CountAsync("select count(*) from hangfire.state where name = 'Processing'"));
    }
}

using System.Net;
using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Tasks;

public sealed class EmbeddedSmokeTests
{
    [Fact]
    public async Task EmbeddedMode_SubmittedTask_SucceedsWithSimulatedResult()
    {
        await using var factory = AgentApiFactory.StartEmbedded();
        using var client = factory.CreateAuthenticatedClient();

        var id = await factory.SubmitAsync(client, new { input = "Summarise the three attached reports" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id);

        Assert.Equal("succeeded", task.Status);
        Assert.NotNull(task.Result);
        Assert.Contains("[simulated]", task.Result.Text, StringComparison.Ordinal);
        Assert.Contains("Summarise the three attached reports", task.Result.Text, StringComparison.Ordinal);
        Assert.Equal("simulated", task.Result.Model);
        Assert.True(File.Exists(Path.Combine(factory.DataDirectory!, "agentapi.db")));
        Assert.Contains(factory.Logs.Entries, entry => entry.EventId.Id == 1001);
    }
}

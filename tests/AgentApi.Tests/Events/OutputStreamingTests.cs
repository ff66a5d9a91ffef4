using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Events;

public sealed class OutputStreamingTests
{
    [Fact]
    public async Task OpenAiModel_StreamsReply_OutputEventsAreCoalescedAndAddUpToTheResult()
    {
        await using var fake = await FakeModelServer.StartAsync();
        var words = Enumerable.Range(1, 60).Select(index => $"word{index}");
        var reply = string.Join(' ', words);

        // 60 chunks 20 ms apart: about 1.2 s of output, which at most 20 events a second makes about 24.
        fake.Enqueue(FakeReply.Text(reply) with { ChunkDelay = TimeSpan.FromMilliseconds(20) });
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "openai",
            ["Models:Default:Endpoint"] = fake.BaseUrl,
            ["Models:Default:Model"] = "gpt-test",
            ["Models:Default:ApiKey"] = "sk-test",
        });
        using var client = factory.CreateAuthenticatedClient();

        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "count to sixty" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, taskId);
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{taskId}/events").WaitAsync(TestTimeouts.Request);

        Assert.Equal("succeeded", task.Status);
        Assert.True(Assert.Single(fake.Requests).Stream);
        var outputs = events!.Where(e => e.Type == "output").ToList();
        Assert.InRange(outputs.Count, 3, 30);
        Assert.Equal(reply, string.Concat(outputs.Select(e => e.Data!.Value.GetProperty("text").GetString())));
        Assert.Equal(reply, task.Result!.Text);
        Assert.True(events!.FindIndex(e => e.Type == "output") < events.FindIndex(e => e.Type == "model_call"));
        // At most one event per 50 ms on average, give or take the first and the last; a slow write
        // can bring two events closer than that.
        var span = outputs[^1].Timestamp - outputs[0].Timestamp;
        Assert.True(outputs.Count <= span.TotalSeconds * 20 + 2, $"{outputs.Count} output events in {span.TotalMilliseconds:0} ms.");
    }
}

using System.Net;
using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Tasks;

public sealed class TaskLifecycleTests
{
    [Fact]
    public async Task Cancel_QueuedTask_NeverStarts()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Queues:WorkerCount"] = "1",
            ["Models:Default:LatencyMs"] = "700",
        });
        using var client = factory.CreateAuthenticatedClient();
        var blocker = await factory.SubmitAsync(client, new { input = "blocker" });
        await AgentApiFactory.WaitForTaskAsync(client, blocker, task => task.Status == "running");
        var waiting = await factory.SubmitAsync(client, new { input = "never runs" });

        var response = await client.PostAsync($"/api/tasks/{waiting}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var cancelled = await response.Content.ReadFromJsonAsync<TaskDto>();
        Assert.Equal("cancelled", cancelled!.Status);

        await AgentApiFactory.WaitForFinishAsync(client, blocker);
        var jobDone = await WaitForHangfireJobToFinishAsync(factory, waiting);
        Assert.True(jobDone, "the cancelled task's Hangfire job should have been processed or deleted");

        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{waiting}");
        Assert.Equal("cancelled", task!.Status);
        Assert.Null(task.StartedAt);
        Assert.Equal(0, task.Attempts);
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{waiting}/events");
        Assert.Equal(["queued", "cancelled"], events!.Select(e => e.Type));
    }

    [Fact]
    public async Task Cancel_RunningTask_EndsCancelledQuickly()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "60000",
        });
        using var client = factory.CreateAuthenticatedClient();
        var id = await factory.SubmitAsync(client, new { input = "long" });
        await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Status == "running");

        var response = await client.PostAsync($"/api/tasks/{id}/cancel", null);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("cancelled", task.Status);
        Assert.Equal("cancelled", task.Error?.Type);
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
        Assert.Equal(["queued", "started", "cancel_requested", "cancelled"], events!.Select(e => e.Type));
    }

    [Fact]
    public async Task Timeout_SlowModel_EndsTimedOut()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "60000",
        });
        using var client = factory.CreateAuthenticatedClient();

        var id = await factory.SubmitAsync(client, new { input = "slow", timeoutSeconds = 1 });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, TimeSpan.FromSeconds(10));

        Assert.Equal("timed_out", task.Status);
        Assert.Equal("timed_out", task.Error?.Type);
        Assert.Contains("timeoutSeconds of 1", task.Error?.Message, StringComparison.Ordinal);
        Assert.True(task.FinishedAt - task.CreatedAt < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Logs_FullRun_ContainTaskIdButNoKeyOrPrompt()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();
        const string prompt = "confidential-prompt-7d1e Summarise the merger plans";

        var id = await factory.SubmitAsync(client, new { input = prompt });
        await AgentApiFactory.WaitForFinishAsync(client, id);

        // The runner logs the outcome just after it stores it, so the line can trail the status.
        await Reliability.ReliabilityDatabase.WaitUntilAsync(
            () => Task.FromResult(factory.Logs.Entries.Any(entry => entry.EventId.Id == 3003)), TimeSpan.FromSeconds(10), "the outcome's log line");
        var logs = factory.Logs.AllText;
        Assert.Contains(id.ToString(), logs, StringComparison.Ordinal);
        Assert.DoesNotContain("confidential-prompt-7d1e", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(AgentApiFactory.AdminKey, logs, StringComparison.Ordinal);
        Assert.Contains(factory.Logs.Entries, entry => entry.EventId.Id == 3002 && entry.Message.Contains(id.ToString(), StringComparison.Ordinal));
        Assert.Contains(factory.Logs.Entries, entry => entry.EventId.Id == 3003 && entry.Message.Contains(id.ToString(), StringComparison.Ordinal));
    }

    /// <summary>Waits until Hangfire has no enqueued or processing job left for the task.</summary>
    private static async Task<bool> WaitForHangfireJobToFinishAsync(AgentApiFactory factory, Guid taskId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(factory.PostgresConnectionString);
        await connection.OpenAsync();
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            await using var command = new Npgsql.NpgsqlCommand(
                "select count(*) from hangfire.job where arguments::text like @id and statename in ('Enqueued', 'Processing')",
                connection);
            command.Parameters.AddWithValue("id", $"%{taskId}%");
            if ((long)(await command.ExecuteScalarAsync())! == 0)
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}

using System.Net.Http.Json;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Tests.Tasks;

public sealed class RecoveryTests
{
    [Fact]
    public async Task Embedded_RestartDuringRun_TaskRunsAgainAndSucceeds()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-restart-").FullName;
        Guid id;
        await using (var first = AgentApiFactory.StartEmbedded(new Dictionary<string, string?> { ["Models:Default:LatencyMs"] = "60000" }, dataDirectory))
        {
            using var client = first.CreateAuthenticatedClient();
            id = await first.SubmitAsync(client, new { input = "survives a restart" });
            await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Status == "running");
        }

        await using var second = AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory);
        using var secondClient = second.CreateAuthenticatedClient();
        var finished = await AgentApiFactory.WaitForFinishAsync(secondClient, id);

        Assert.Equal("succeeded", finished.Status);
        Assert.Equal(2, finished.Attempts);
        var events = await secondClient.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
        Assert.Equal(["queued", "started", "attempt_failed", "started", "succeeded"], events!.Select(e => e.Type));
    }

    [Fact]
    public async Task Embedded_QueuedAndDeadRunningTasks_ArePickedUpAtNextStart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-crash-").FullName;
        Guid queuedId;
        Guid runningId;
        await using (var first = AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory))
        {
            // Rows as a killed process leaves them: one task never picked up, one mid-attempt.
            await using var db = first.CreateDbContext();
            queuedId = await InsertAsync(db, AgentTaskStatus.Queued, attempts: 0);
            runningId = await InsertAsync(db, AgentTaskStatus.Running, attempts: 1);
        }

        await using var second = AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory);
        using var client = second.CreateAuthenticatedClient();
        var queued = await AgentApiFactory.WaitForFinishAsync(client, queuedId);
        var running = await AgentApiFactory.WaitForFinishAsync(client, runningId);

        Assert.Equal("succeeded", queued.Status);
        Assert.Equal(1, queued.Attempts);
        Assert.Equal("succeeded", running.Status);
        Assert.Equal(2, running.Attempts);
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{runningId}/events");
        var failed = Assert.Single(events!, e => e.Type == "attempt_failed");
        Assert.Equal("interrupted", failed.Data!.Value.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Postgres_JobOfDeadWorker_IsRetakenAndOldAttemptRecordedFailed()
    {
        // One worker, busy with the task, so this instance has no idle worker to take the job back.
        var slow = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "60000",
            ["Queues:WorkerCount"] = "1",
        });
        Guid id;
        try
        {
            using var client = slow.CreateAuthenticatedClient();
            id = await slow.SubmitAsync(client, new { input = "the first worker stops answering" });
            await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Status == "running");

            // The first process stops extending its claim, as a killed process would.
            await using (var connection = new Npgsql.NpgsqlConnection(slow.PostgresConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand(
                    "update hangfire.jobqueue set fetchedat = now() - interval '10 minutes'", connection);
                Assert.Equal(1, await command.ExecuteNonQueryAsync());
            }

            await using var second = await StartOnSameDatabaseAsync(slow);
            using var secondClient = second.CreateAuthenticatedClient();
            var finished = await AgentApiFactory.WaitForFinishAsync(secondClient, id);

            Assert.Equal("succeeded", finished.Status);
            Assert.Equal(2, finished.Attempts);
            var events = await secondClient.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
            Assert.Equal(["queued", "started", "attempt_failed", "started", "succeeded"], events!.Select(e => e.Type));
        }
        finally
        {
            await slow.DisposeAsync();
        }

        // The first process's late shutdown must not overwrite the outcome.
        await using var check = await StartOnSameDatabaseAsync(slow);
        using var checkClient = check.CreateAuthenticatedClient();
        var task = await checkClient.GetFromJsonAsync<TaskDto>($"/api/tasks/{id}");
        Assert.Equal("succeeded", task!.Status);
    }

    private static Task<AgentApiFactory> StartOnSameDatabaseAsync(AgentApiFactory other) =>
        AgentApiFactory.StartPostgresOnAsync(other.PostgresConnectionString!, new Dictionary<string, string?>
        {
            ["Queues:InvisibilityTimeout"] = "00:00:02",
        });

    private static async Task<Guid> InsertAsync(AgentApi.Storage.AgentDbContext db, AgentTaskStatus status, int attempts)
    {
        var task = new AgentTask
        {
            Id = Guid.CreateVersion7(),
            Status = status,
            Agent = "general-purpose",
            Input = "left behind",
            Queue = "default",
            Lane = "main",
            TimeoutSeconds = 600,
            MaxAttempts = 3,
            Attempts = attempts,
            CreatedAt = TimeProvider.System.GetUtcNow(),
            StartedAt = status == AgentTaskStatus.Running ? TimeProvider.System.GetUtcNow() : null,
            LastSequence = status == AgentTaskStatus.Running ? 2 : 1,
        };
        db.Tasks.Add(task);
        db.TaskEvents.Add(new TaskEvent { TaskId = task.Id, Sequence = 1, Type = "queued", Timestamp = task.CreatedAt });
        if (status == AgentTaskStatus.Running)
        {
            db.TaskEvents.Add(new TaskEvent { TaskId = task.Id, Sequence = 2, Type = "started", Timestamp = task.CreatedAt });
        }

        await db.SaveChangesAsync();
        return task.Id;
    }
}

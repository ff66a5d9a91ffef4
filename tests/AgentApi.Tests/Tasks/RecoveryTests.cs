using System.Net.Http.Json;
using AgentApi.Storage;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using AgentApi.Tests.Queues;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Tasks;

[Trait("Category", "Reliability")]
public sealed class RecoveryTests
{
    [Fact]
    public async Task Embedded_RestartDuringRun_TaskRunsAgainAndSucceeds()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-restart-").FullName;
        Guid id;
        var first = AgentApiFactory.StartEmbedded(new Dictionary<string, string?> { ["Models:Default:LatencyMs"] = "60000" }, dataDirectory);
        await using (first)
        {
            using var client = first.CreateAuthenticatedClient();
            id = await first.SubmitAsync(client, new { input = "survives a restart" });
            await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Status == "running");
        }

        var interrupted = Assert.Single(first.Logs.Entries, entry => entry.EventId.Id == 3009);

        await using var second = AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory);
        using var secondClient = second.CreateAuthenticatedClient();
        var finished = await AgentApiFactory.WaitForFinishAsync(secondClient, id);

        Assert.Equal("succeeded", finished.Status);
        Assert.Equal(2, finished.Attempts);
        var events = await secondClient.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
        Assert.Equal(["queued", "started", "attempt_failed", "started", "output", "model_call", "succeeded"], events!.Select(e => e.Type));
        Assert.Equal(1, events!.Single(e => e.Type == "attempt_failed").Data!.Value.GetProperty("attempt").GetInt32());
        Assert.Contains($"Task {id} attempt 1 was interrupted by shutdown", interrupted.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embedded_QueuedAndDeadRunningTasks_ArePickedUpAtNextStart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-crash-").FullName;
        Guid queuedId;
        Guid runningId;
        await using (AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory))
        {
            // Only to create the database.
        }

        // Rows as a killed process leaves them: one task never picked up, one mid-attempt.
        await using (var db = new SqliteAgentDbContext(new DbContextOptionsBuilder<SqliteAgentDbContext>()
            .UseSqlite($"Data Source={Path.Combine(dataDirectory, "agentapi.db")}")
            .UseSnakeCaseNamingConvention()
            .Options))
        {
            queuedId = await InsertAsync(db, AgentTaskStatus.Queued, attempts: 0);
            runningId = await InsertAsync(db, AgentTaskStatus.Running, attempts: 1, leaseOwner: "killed-instance");
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

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
    public async Task Embedded_ChildOfFinishedParent_IsCancelledAtNextStart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-orphan-").FullName;
        Guid parentId;
        Guid childId;
        await using (AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory))
        {
            // Only to create the database.
        }

        await using (var db = OpenSqlite(dataDirectory))
        {
            parentId = await InsertAsync(db, AgentTaskStatus.Failed, attempts: 1);
            childId = await InsertAsync(db, AgentTaskStatus.Running, attempts: 1, leaseOwner: "killed-instance", parentId: parentId);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        await using var second = AgentApiFactory.StartEmbedded(dataDirectory: dataDirectory);
        using var client = second.CreateAuthenticatedClient();
        var child = await AgentApiFactory.WaitForFinishAsync(client, childId);

        Assert.Equal("cancelled", child.Status);
        Assert.Equal(1, child.Attempts);
        var parent = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{parentId}");
        Assert.Equal("failed", parent!.Status);
    }

    [Fact]
    public async Task Renewal_OwnedTaskNotRunningHere_LeaseIsNotExtended()
    {
        // PostgreSQL: in embedded mode the first recovery sweep would clear the lease itself.
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Leases:RenewInterval"] = "00:00:00.100",
        });
        var instance = factory.Services.GetRequiredService<InstanceIdentity>();
        var expiresAt = TimeProvider.System.GetUtcNow().AddMinutes(10);
        Guid id;
        await using (var db = factory.CreateDbContext())
        {
            id = await InsertAsync(db, AgentTaskStatus.Running, attempts: 1, leaseOwner: instance.Id, leaseExpiresAt: expiresAt);
        }

        // Several renewal rounds pass; a live task's lease would move each time.
        await Task.Delay(TimeSpan.FromMilliseconds(800));

        await using (var db = factory.CreateDbContext())
        {
            var task = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == id);
            Assert.Equal(expiresAt.ToUnixTimeMilliseconds(), task.LeaseExpiresAt!.Value.ToUnixTimeMilliseconds());
        }
    }

    [Fact]
    public async Task Postgres_LeaseOfDeadInstance_TaskRunsElsewhereAndOldAttemptCannotWrite()
    {
        var slow = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "60000",
            ["Queues:WorkerCount"] = "1",
        });
        var gate = BlockingJob.Open();
        Guid id;
        try
        {
            using var client = slow.CreateAuthenticatedClient();
            id = await slow.SubmitAsync(client, new { input = "the first instance stops renewing its lease" });
            await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Status == "running");

            // Its only Hangfire worker is held, so like a dead instance it takes no more jobs.
            slow.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<BlockingJob>(job => job.Run(gate));
            await BlockingJob.WaitUntilRunningAsync(gate);

            // As a killed instance leaves it: its lease has run out and no instance renews it.
            await using (var connection = new Npgsql.NpgsqlConnection(slow.PostgresConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand(
                    "update tasks set lease_owner = 'dead-instance', lease_expires_at = now() - interval '1 minute' where id = @id",
                    connection);
                command.Parameters.AddWithValue("id", id);
                Assert.Equal(1, await command.ExecuteNonQueryAsync());
            }

            await using var second = await StartOnSameDatabaseAsync(slow);
            using var secondClient = second.CreateAuthenticatedClient();
            var finished = await AgentApiFactory.WaitForFinishAsync(secondClient, id);

            Assert.Equal("succeeded", finished.Status);
            Assert.Equal(2, finished.Attempts);
            var events = await secondClient.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
            Assert.Equal(["queued", "started", "attempt_failed", "started", "output", "model_call", "succeeded"], events!.Select(e => e.Type));
        }
        finally
        {
            // Stopping cancels the first instance's attempt, which then tries to record it.
            BlockingJob.Release(gate);
            await slow.DisposeAsync();
        }

        await using var check = await StartOnSameDatabaseAsync(slow);
        using var checkClient = check.CreateAuthenticatedClient();
        var task = await checkClient.GetFromJsonAsync<TaskDto>($"/api/tasks/{id}");
        Assert.Equal("succeeded", task!.Status);
        var finalEvents = await checkClient.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
        Assert.Equal(7, finalEvents!.Count);
    }

    [Fact]
    public async Task Postgres_CancelThroughOtherInstance_StopsRunningAttempt()
    {
        Dictionary<string, string?> settings = new()
        {
            ["Models:Default:LatencyMs"] = "60000",
            ["Leases:RenewInterval"] = "00:00:00.300",
        };
        await using var first = await AgentApiFactory.StartPostgresAsync(settings);
        await using var second = await AgentApiFactory.StartPostgresOnAsync(first.PostgresConnectionString!, settings);
        using var firstClient = first.CreateAuthenticatedClient();
        using var secondClient = second.CreateAuthenticatedClient();
        var id = await first.SubmitAsync(firstClient, new { input = "runs on one instance, cancelled on the other" });
        await AgentApiFactory.WaitForTaskAsync(firstClient, id, task => task.Status == "running");

        // Whichever instance took the task, the cancel goes through the other one.
        await using var db = first.CreateDbContext();
        var owner = await db.Tasks.Where(task => task.Id == id).Select(task => task.LeaseOwner).SingleAsync();
        var firstInstance = first.Services.GetRequiredService<InstanceIdentity>().Id;
        var other = owner == firstInstance ? secondClient : firstClient;
        var response = await other.PostAsync($"/api/tasks/{id}/cancel", null);
        var task = await AgentApiFactory.WaitForFinishAsync(other, id, TimeSpan.FromSeconds(10));

        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("cancelled", task.Status);
    }

    [Fact]
    public async Task Postgres_JobTakenByDeadWorkerBeforeClaim_RunsAfterLeaseLength()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Leases:Duration"] = "00:00:03",
            ["Leases:RenewInterval"] = "00:00:01",
        });

        // As a worker that fetched the job and died before it claimed the task leaves it:
        // queued, with a job id, and no lease.
        await using (var db = factory.CreateDbContext())
        {
            db.Tasks.Add(new AgentTask
            {
                Id = Guid.CreateVersion7(),
                Status = AgentTaskStatus.Queued,
                Agent = "general-purpose",
                Input = "its job went down with its worker",
                Queue = "default",
                Lane = "main",
                TimeoutSeconds = 600,
                MaxAttempts = 3,
                HangfireJobId = "999999",
                CreatedAt = TimeProvider.System.GetUtcNow().AddMinutes(-1),
                LastSequence = 1,
            });
            await db.SaveChangesAsync();
        }

        Guid id;
        await using (var db = factory.CreateDbContext())
        {
            id = await db.Tasks.Select(task => task.Id).SingleAsync();
            db.TaskEvents.Add(new TaskEvent { TaskId = id, Sequence = 1, Type = "queued", Timestamp = TimeProvider.System.GetUtcNow() });
            await db.SaveChangesAsync();
        }

        using var client = factory.CreateAuthenticatedClient();
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, TimeSpan.FromSeconds(20));

        Assert.Equal("succeeded", task.Status);
    }

    private static Task<AgentApiFactory> StartOnSameDatabaseAsync(AgentApiFactory other) =>
        AgentApiFactory.StartPostgresOnAsync(other.PostgresConnectionString!);

    private static SqliteAgentDbContext OpenSqlite(string dataDirectory) =>
        new(new DbContextOptionsBuilder<SqliteAgentDbContext>()
            .UseSqlite($"Data Source={Path.Combine(dataDirectory, "agentapi.db")}")
            .UseSnakeCaseNamingConvention()
            .Options);

    private static async Task<Guid> InsertAsync(
        AgentDbContext db,
        AgentTaskStatus status,
        int attempts,
        string? leaseOwner = null,
        Guid? parentId = null,
        DateTimeOffset? leaseExpiresAt = null)
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
            LeaseOwner = leaseOwner,
            LeaseToken = leaseOwner is null ? 0 : 1,
            LeaseExpiresAt = leaseOwner is null ? null : leaseExpiresAt ?? TimeProvider.System.GetUtcNow().AddMinutes(10),
            ParentId = parentId,
            SubtaskIndex = parentId is null ? null : 0,
            FinishedAt = status is AgentTaskStatus.Failed ? TimeProvider.System.GetUtcNow() : null,
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

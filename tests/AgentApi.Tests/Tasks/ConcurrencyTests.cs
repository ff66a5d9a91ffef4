using System.Net;
using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Tests.Tasks;

public sealed class ConcurrencyTests
{
    [Fact]
    [Trait("Category", "Reliability")]
    public async Task CancelRacingStart_NeverFailsAndCancelledStaysCancelled()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "200",
            ["Lanes:main:MaxConcurrent"] = "20",
        });
        using var client = factory.CreateAuthenticatedClient();

        List<(Guid Id, HttpStatusCode Cancel)> outcomes = [];
        for (var i = 0; i < 40; i++)
        {
            var id = await factory.SubmitAsync(client, new { input = $"race {i}" });
            await Task.Delay(i % 8 * 15);
            var response = await client.PostAsync($"/api/tasks/{id}/cancel", null);
            outcomes.Add((id, response.StatusCode));
        }

        foreach (var (id, cancel) in outcomes)
        {
            Assert.True(cancel is HttpStatusCode.Accepted or HttpStatusCode.Conflict, $"cancel of {id} answered {(int)cancel}");
            var task = await AgentApiFactory.WaitForFinishAsync(client, id);
            if (cancel == HttpStatusCode.Accepted)
            {
                Assert.Equal("cancelled", task.Status);
            }

            var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
            Assert.Single(events!, e => e.Type is "succeeded" or "failed" or "cancelled" or "timed_out");
            Assert.Equal(Enumerable.Range(1, events!.Count).Select(n => (long)n), events.Select(e => e.Sequence));
        }
    }

    [Fact]
    public async Task SubmissionBurst_AllAcceptedAndEachRunsOnce()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Lanes:main:MaxConcurrent"] = "20",
        });
        using var client = factory.CreateAuthenticatedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 300).Select(i =>
            client.PostAsJsonAsync("/api/tasks", new { input = $"burst {i}" }).WaitAsync(TestTimeouts.Task)));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Accepted, response.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async response => (await response.Content.ReadFromJsonAsync<TaskDto>())!.Id));
        foreach (var id in ids)
        {
            Assert.Equal("succeeded", (await AgentApiFactory.WaitForFinishAsync(client, id)).Status);
        }

        await using var db = factory.CreateDbContext();
        Assert.Equal(300, await db.Tasks.CountAsync());
        Assert.Equal(300, await db.TaskEvents.CountAsync(e => e.Type == "started"));
    }

    [Fact]
    public async Task IdempotencyKey_MetadataInOtherOrder_ReturnsFirstTask()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();

        var first = await PostWithKeyAsync(client, "order-key", """{"input":"x","metadata":{"a":1,"b":{"c":2,"d":3}}}""");
        var second = await PostWithKeyAsync(client, "order-key", """{"metadata":{"b":{"d":3,"c":2},"a":1},"input":"x"}""");

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(
            (await first.Content.ReadFromJsonAsync<TaskDto>())!.Id,
            (await second.Content.ReadFromJsonAsync<TaskDto>())!.Id);
    }

    [Fact]
    [Trait("Category", "Reliability")]
    public async Task DatabaseRefusesConnections_SubmissionGets503AndReadinessFails()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();
        var database = new Npgsql.NpgsqlConnectionStringBuilder(factory.PostgresConnectionString).Database!;
        var admin = await PostgresServer.GetAdminConnectionStringAsync();

        await SetConnectionsAllowedAsync(admin, database, allowed: false);
        try
        {
            var response = await client.PostAsJsonAsync("/api/tasks", new { input = "during the outage" }).WaitAsync(TestTimeouts.Task);
            var ready = await client.GetAsync("/health/ready").WaitAsync(TestTimeouts.Task);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.DoesNotContain("127.0.0.1", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await SetConnectionsAllowedAsync(admin, database, allowed: true);
        }

        var id = await factory.SubmitAsync(client, new { input = "after the outage" });
        Assert.Equal("succeeded", (await AgentApiFactory.WaitForFinishAsync(client, id)).Status);
    }

    private static async Task SetConnectionsAllowedAsync(string adminConnectionString, string database, bool allowed)
    {
        await using var connection = new Npgsql.NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using (var alter = new Npgsql.NpgsqlCommand($"alter database \"{database}\" allow_connections {(allowed ? "true" : "false")}", connection))
        {
            await alter.ExecuteNonQueryAsync();
        }

        if (!allowed)
        {
            await using var terminate = new Npgsql.NpgsqlCommand(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = @database and pid <> pg_backend_pid()",
                connection);
            terminate.Parameters.AddWithValue("database", database);
            await terminate.ExecuteNonQueryAsync();
            Npgsql.NpgsqlConnection.ClearAllPools();
        }
    }

    private static Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string key, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request).WaitAsync(TestTimeouts.Request);
    }
}

using System.Net;
using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Tasks;

public sealed class TaskApiTests(PostgresAppFixture fixture) : IClassFixture<PostgresAppFixture>
{
    private AgentApiFactory Factory => fixture.Factory;

    [Fact]
    public async Task Submit_ValidBody_Returns202WithLocationAndQueuedTask()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var response = await client.PostAsJsonAsync("/api/tasks", new
        {
            agent = "explore",
            input = "Read report A",
            name = "research.summarize",
            priority = "high",
            lane = "main",
            sessionKey = "agent:explore:main",
            coordination = "fail_fast",
            timeoutSeconds = 120,
            maxAttempts = 2,
            metadata = new { ticket = "X-12" },
        }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = await response.Content.ReadFromJsonAsync<TaskDto>();
        Assert.NotNull(task);
        Assert.Equal($"/api/tasks/{task.Id}", response.Headers.Location?.ToString());
        Assert.Equal("queued", task.Status);
        Assert.Equal("explore", task.Agent);
        Assert.Equal("high", task.Priority);
        Assert.Equal("high", task.Queue);
        Assert.Equal("agent:explore:main", task.SessionKey);
        Assert.Equal(2, task.MaxAttempts);
        Assert.Equal(0, task.Attempts);
        Assert.Null(task.Result);
    }

    [Fact]
    public async Task Submit_OnlyInput_UsesDefaults()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var id = await Factory.SubmitAsync(client, new { input = "hello" });
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{id}");

        Assert.NotNull(task);
        Assert.Equal("general-purpose", task.Agent);
        Assert.Equal("default", task.Priority);
        Assert.Equal("main", task.Lane);
        Assert.Equal(3, task.MaxAttempts);
    }

    [Theory]
    [InlineData("urgent.page-oncall", "high")]
    [InlineData("batch.reindex", "low")]
    [InlineData("research.summarize", "default")]
    public async Task Submit_NoPriority_RoutesByName(string name, string expectedQueue)
    {
        using var client = Factory.CreateAuthenticatedClient();

        var response = await client.PostAsJsonAsync("/api/tasks", new { input = "x", name });
        var task = await response.Content.ReadFromJsonAsync<TaskDto>();

        Assert.Equal(expectedQueue, task!.Queue);
        Assert.Equal(expectedQueue, task.Priority);
    }

    [Fact]
    public async Task Submit_ExplicitPriority_BeatsRoutingRule()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var response = await client.PostAsJsonAsync("/api/tasks", new { input = "x", name = "batch.reindex", priority = "high" });
        var task = await response.Content.ReadFromJsonAsync<TaskDto>();

        Assert.Equal("high", task!.Queue);
    }

    [Fact]
    public async Task Task_RunsToSucceededWithSimulatedResultAndEvents()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var id = await Factory.SubmitAsync(client, new { input = "Summarise the three attached reports" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(1, task.Attempts);
        Assert.NotNull(task.StartedAt);
        Assert.NotNull(task.FinishedAt);
        Assert.Equal(100, task.Progress.Percent);
        Assert.NotNull(task.Result);
        Assert.StartsWith("[simulated]", task.Result.Text, StringComparison.Ordinal);
        Assert.Equal("simulated", task.Result.Model);
        Assert.True(task.Result.Usage.InputTokens > 0);
        Assert.True(task.Result.Usage.OutputTokens > 0);

        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
        Assert.NotNull(events);
        Assert.Equal(["queued", "started", "output", "model_call", "succeeded"], events.Select(e => e.Type));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], events.Select(e => e.Sequence));
        Assert.Equal(task.Result.Text, events[2].Data!.Value.GetProperty("text").GetString());

        var after = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events?after=3");
        Assert.Equal(["model_call", "succeeded"], after!.Select(e => e.Type));
    }

    [Fact]
    public async Task Task_TablesOfBothEfCoreAndHangfire_AreInPostgres()
    {
        using var client = Factory.CreateAuthenticatedClient();

        // A task of a session goes through its Hangfire queue, while one without starts in-process.
        var id = await Factory.SubmitAsync(client, new { input = "x", sessionKey = "tables-in-postgres" });
        await AgentApiFactory.WaitForFinishAsync(client, id);

        await using var connection = new Npgsql.NpgsqlConnection(Factory.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "select table_schema || '.' || table_name from information_schema.tables where table_schema in ('public', 'hangfire')",
            connection);
        List<string> tables = [];
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("public.tasks", tables);
        Assert.Contains("public.task_events", tables);
        Assert.Contains("hangfire.job", tables);
        Assert.Contains("hangfire.jobqueue", tables);

        Assert.Equal(1L, await CountJobsAsync(connection, id));
    }

    [Fact]
    public async Task Task_WithoutSession_HasNoHangfireJob()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var id = await Factory.SubmitAsync(client, new { input = "no job needed" });
        var finished = await AgentApiFactory.WaitForFinishAsync(client, id);
        Assert.Equal("succeeded", finished.Status);

        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
        var started = Assert.Single(events!, e => e.Type == "started");
        var instance = Factory.Services.GetRequiredService<AgentApi.Tasks.InstanceIdentity>();
        Assert.Equal(instance.Id, started.Data!.Value.GetProperty("instance").GetString());

        await using var connection = new Npgsql.NpgsqlConnection(Factory.PostgresConnectionString);
        await connection.OpenAsync();
        Assert.Equal(0L, await CountJobsAsync(connection, id));
    }

    /// <summary>Counts the Hangfire jobs whose arguments name the task.</summary>
    private static async Task<long> CountJobsAsync(Npgsql.NpgsqlConnection connection, Guid taskId)
    {
        await using var jobs = new Npgsql.NpgsqlCommand("select count(*) from hangfire.job where arguments::text like @id", connection);
        jobs.Parameters.AddWithValue("id", $"%{taskId}%");
        return (long)(await jobs.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task List_NewestFirst_PagesWithCursor()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var agent = "plan";
        List<Guid> ids = [];
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Factory.SubmitAsync(client, new { input = $"page {i}", agent, name = "paging.test" }));
        }

        var first = await client.GetFromJsonAsync<TaskPageDto>($"/api/tasks?agent={agent}&limit=2");
        var second = await client.GetFromJsonAsync<TaskPageDto>($"/api/tasks?agent={agent}&limit=2&cursor={first!.NextCursor}");
        var third = await client.GetFromJsonAsync<TaskPageDto>($"/api/tasks?agent={agent}&limit=2&cursor={second!.NextCursor}");

        var listed = first.Items.Concat(second.Items).Concat(third!.Items).Select(t => t.Id).ToList();
        Assert.Equal(Enumerable.Reverse(ids), listed.Where(ids.Contains));
        Assert.Null(third.NextCursor);
    }

    [Fact]
    public async Task List_StatusFilter_ReturnsOnlyThatStatus()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var id = await Factory.SubmitAsync(client, new { input = "x" });
        await AgentApiFactory.WaitForFinishAsync(client, id);

        var page = await client.GetFromJsonAsync<TaskPageDto>("/api/tasks?status=succeeded&limit=200");

        Assert.NotEmpty(page!.Items);
        Assert.All(page.Items, task => Assert.Equal("succeeded", task.Status));
        Assert.Contains(page.Items, task => task.Id == id);
    }

    [Fact]
    public async Task Get_UnknownOrMalformedId_Returns404Problem()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var unknown = await client.GetAsync($"/api/tasks/{Guid.NewGuid()}");
        var malformed = await client.GetAsync("/api/tasks/not-a-guid");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);
    }

    [Fact]
    public async Task Cancel_FinishedTask_Returns409()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var id = await Factory.SubmitAsync(client, new { input = "x" });
        await AgentApiFactory.WaitForFinishAsync(client, id);

        var response = await client.PostAsync($"/api/tasks/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{id}");
        Assert.Equal("succeeded", task!.Status);
    }

    [Fact]
    public async Task IdempotencyKey_SameBody_ReturnsFirstTask()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var key = $"idem-{Guid.NewGuid()}";

        var first = await PostWithKeyAsync(client, key, new { input = "once", name = "idem.test" });
        var second = await PostWithKeyAsync(client, key, new { name = "idem.test", input = "once" });

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var firstTask = await first.Content.ReadFromJsonAsync<TaskDto>();
        var secondTask = await second.Content.ReadFromJsonAsync<TaskDto>();
        Assert.Equal(firstTask!.Id, secondTask!.Id);
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));

        await using var db = Factory.CreateDbContext();
        Assert.Equal(1, await db.Tasks.CountAsync(task => task.IdempotencyKey == key));
    }

    [Fact]
    public async Task IdempotencyKey_DifferentBody_Returns422AndStoresNothing()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var key = $"idem-{Guid.NewGuid()}";

        await PostWithKeyAsync(client, key, new { input = "first" });
        var conflict = await PostWithKeyAsync(client, key, new { input = "second" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
        await using var db = Factory.CreateDbContext();
        Assert.Equal(1, await db.Tasks.CountAsync(task => task.IdempotencyKey == key));
    }

    [Fact]
    public async Task IdempotencyKey_ConcurrentRepeats_CreateOneTask()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var key = $"idem-{Guid.NewGuid()}";

        var responses = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => PostWithKeyAsync(client, key, new { input = "race" })));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Accepted, response.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<TaskDto>())!.Id));
        Assert.Single(ids.Distinct());
    }

    [Fact]
    public async Task IdempotencyKey_AmongOtherSubmissions_OneTaskPerKey()
    {
        using var client = Factory.CreateAuthenticatedClient();
        var key = $"idem-{Guid.NewGuid()}";

        // Inserts that arrive together share a transaction. A repeated key fails that batch, and
        // every insert of it then runs on its own.
        var keyed = Enumerable.Range(0, 20).Select(_ => PostWithKeyAsync(client, key, new { input = "shared key" }));
        var plain = Enumerable.Range(0, 20).Select(n => client.PostAsJsonAsync("/api/tasks", new { input = $"plain {n}" }).WaitAsync(TestTimeouts.Request));
        var responses = await Task.WhenAll(keyed.Concat(plain));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Accepted, response.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<TaskDto>())!.Id));
        Assert.Single(ids.Take(20).Distinct());
        Assert.Equal(20, ids.Skip(20).Distinct().Count());
        Assert.DoesNotContain(ids[0], ids.Skip(20));

        foreach (var id in ids.Distinct())
        {
            var finished = await AgentApiFactory.WaitForFinishAsync(client, id);
            Assert.Equal("succeeded", finished.Status);
            var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events");
            Assert.Equal(Enumerable.Range(1, events!.Count).Select(n => (long)n), events.Select(e => e.Sequence));
            Assert.Equal("queued", events[0].Type);
        }
    }

    private static Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string key, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request).WaitAsync(TestTimeouts.Request);
    }
}

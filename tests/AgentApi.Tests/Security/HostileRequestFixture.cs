using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace AgentApi.Tests.Security;

/// <summary>
/// One service on its own PostgreSQL database, listening on a loopback port, with something in every table that a hostile
/// request could reach: a read key, a submit key, a schedule with a run, and a finished task.
/// </summary>
public sealed class HostileRequestFixture : IAsyncLifetime
{
    public const string WebhookSecret = "hostile-webhook-secret-6b0e9d2f";
    public const string ScheduleId = "hostile-seed";
    public const string ReaderKeyName = "hostile-reader";
    public const string SubmitterKeyName = "hostile-submitter";

    // Hangfire rewrites these tables on its own: servers report in, workers take and release
    // locks, and the statistics counters are rolled up into aggregated rows every few minutes.
    private static readonly HashSet<string> VolatileTables = new(StringComparer.Ordinal)
    {
        "hangfire.server",
        "hangfire.lock",
        "hangfire.counter",
        "hangfire.aggregatedcounter",
    };

    private AgentApiFactory? _factory;

    public AgentApiFactory Factory => _factory ?? throw new InvalidOperationException("The fixture has not started.");

    public string ReaderKey { get; private set; } = "";

    public string SubmitterKey { get; private set; } = "";

    /// <summary>A task that has finished, so that a cancel of it is a 409.</summary>
    public Guid FinishedTaskId { get; private set; }

    public async Task InitializeAsync()
    {
        // A real socket, because the in-memory test server cannot carry %00 in a path.
        _factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Webhooks:Secret"] = WebhookSecret,

            // Yearly, so that the purge does not add Hangfire rows while the table is sent.
            ["Retention:Cron"] = "0 0 1 1 *",
        });
        using var admin = _factory.CreateAuthenticatedClient();

        ReaderKey = await CreateKeyAsync(admin, ReaderKeyName, "read");
        SubmitterKey = await CreateKeyAsync(admin, SubmitterKeyName, "submit");

        // A yearly slot, so that no run starts while the table is sent.
        var schedule = await admin.PostAsJsonAsync("/api/schedules", new
        {
            id = ScheduleId,
            cron = "0 0 1 1 *",
            timeZone = "UTC",
            task = new { input = "seeded schedule run" },
        }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Created, schedule.StatusCode);
        var trigger = await admin.PostAsync($"/api/schedules/{ScheduleId}/trigger", null).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Accepted, trigger.StatusCode);
        var triggered = await trigger.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(TestTimeouts.Request);
        await AgentApiFactory.WaitForFinishAsync(admin, triggered.GetProperty("taskId").GetGuid());

        FinishedTaskId = await _factory.SubmitAsync(admin, new { input = "seeded task", sessionKey = "agent:general-purpose:hostile" });
        await AgentApiFactory.WaitForFinishAsync(admin, FinishedTaskId);
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    /// <summary>A client with no key, which keeps cookies such as the antiforgery cookie.</summary>
    public HttpClient CreateAnonymousClient() =>
        Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = Factory.ClientOptions.BaseAddress });

    /// <summary>
    /// Waits until two snapshots taken half a second apart are equal, so that work the set-up
    /// started (Hangfire jobs finishing, webhooks, state changes) has settled, and returns it.
    /// </summary>
    public async Task<string> TakeStableSnapshotAsync()
    {
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        var previous = await TakeSnapshotAsync();
        while (true)
        {
            await Task.Delay(500);
            var current = await TakeSnapshotAsync();
            if (current == previous)
            {
                return current;
            }

            Assert.True(TimeProvider.System.GetUtcNow() < deadline, $"Stored state did not settle:\n{previous}\n---\n{current}");
            previous = current;
        }
    }

    /// <summary>
    /// Describes the stored state: the row count of every table of ours and of Hangfire's but
    /// <see cref="VolatileTables"/>, and what the API lists of tasks, keys, schedules, the
    /// heartbeat and the lane limits.
    /// </summary>
    public async Task<string> TakeSnapshotAsync()
    {
        var lines = new List<string>();
        await using (var connection = new NpgsqlConnection(Factory.PostgresConnectionString))
        {
            await connection.OpenAsync();
            var tables = new List<string>();
            await using (var list = new NpgsqlCommand(
                "select table_schema || '.' || table_name from information_schema.tables "
                + "where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1",
                connection))
            await using (var reader = await list.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            Assert.Contains("public.tasks", tables);
            Assert.Contains("hangfire.job", tables);
            foreach (var table in tables.Where(table => !VolatileTables.Contains(table)))
            {
                var parts = table.Split('.');
                await using var count = new NpgsqlCommand($"select count(*) from \"{parts[0]}\".\"{parts[1]}\"", connection);
                lines.Add($"{table}: {(long)(await count.ExecuteScalarAsync())!}");
            }
        }

        using var admin = Factory.CreateAuthenticatedClient();
        lines.Add("tasks: " + await admin.GetStringAsync("/api/tasks?limit=200").WaitAsync(TestTimeouts.Request));
        lines.Add("keys: " + await admin.GetStringAsync("/api/keys").WaitAsync(TestTimeouts.Request));
        lines.Add("schedules: " + await admin.GetStringAsync("/api/schedules").WaitAsync(TestTimeouts.Request));
        lines.Add("heartbeat: " + await admin.GetStringAsync("/api/heartbeat").WaitAsync(TestTimeouts.Request));
        var lanes = await admin.GetFromJsonAsync<JsonElement>("/api/lanes").WaitAsync(TestTimeouts.Request);
        lines.Add("lanes: " + string.Join(", ", lanes.EnumerateArray().Select(lane =>
            $"{lane.GetProperty("name").GetString()}={lane.GetProperty("maxConcurrent").GetInt32()}")));
        return string.Join('\n', lines);
    }

    private static async Task<string> CreateKeyAsync(HttpClient admin, string name, string scope)
    {
        var response = await admin.PostAsJsonAsync("/api/keys", new { name, scopes = new[] { scope } }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(TestTimeouts.Request);
        return created.GetProperty("key").GetString()!;
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace AgentApi.Tests.Reliability;

/// <summary>
/// The service as a real process, killed with SIGKILL or stopped with SIGTERM in the middle of
/// its work, then started again on the same database.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KillNine_UnderLoad_EachTaskFinishesOnce()
    {
        var database = new ReliabilityDatabase(await PostgresServer.CreateDatabaseAsync());
        var settings = Settings(database, new()
        {
            ["Lanes:main:MaxConcurrent"] = "51",
            ["Lanes:subagent:MaxConcurrent"] = "4",
            ["Models:Default:LatencyMs"] = "10000",
            ["Models:Fast:Provider"] = "simulated",
            ["Models:Fast:LatencyMs"] = "0",
            ["Models:Slow:Provider"] = "simulated",
            ["Models:Slow:LatencyMs"] = "60000",
        });

        List<Guid> ids = [];
        Guid parentId;
        List<Guid> childrenDoneBeforeKill;
        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            using var client = first.CreateClient(AgentApiFactory.AdminKey);

            // A fan-out whose quick children finish before the kill and whose slow ones do not.
            parentId = await SubmitAsync(client, new
            {
                input = "fan out before the crash",
                subtasks = new[]
                {
                    new { agent = "fast", input = "quick one" },
                    new { agent = "fast", input = "quick two" },
                    new { agent = "slow", input = "slow one" },
                    new { agent = "slow", input = "slow two" },
                },
            });
            await ReliabilityDatabase.WaitUntilAsync(
                async () => (await database.ChildrenAsync(parentId, "succeeded")).Count == 2, TimeSpan.FromSeconds(30), "the quick children");

            // The lane is paused while the 250 arrive, so that 50 start together when it opens.
            await SetLaneAsync(client, "main", 0);
            await Parallel.ForEachAsync(Enumerable.Range(0, 250), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, _) =>
            {
                var id = await SubmitAsync(client, new { input = $"crash load {n}" });
                lock (ids)
                {
                    ids.Add(id);
                }
            });

            // The parent keeps one slot of main while it waits, so 50 of the 250 run beside it.
            await SetLaneAsync(client, "main", 51);
            try
            {
                await ReliabilityDatabase.WaitUntilAsync(
                    async () => await database.CountAsync("select count(*) from tasks where status = 'running' and parent_id is null") >= 51,
                    TimeSpan.FromSeconds(30), "50 running main tasks");
            }
            catch (TimeoutException exception)
            {
                Assert.Fail($"{exception.Message} Status counts: {string.Join(", ", await database.StatusCountsAsync())}; lanes: "
                    + await client.GetStringAsync("/api/lanes") + "\n" + first.LogTail());
            }

            childrenDoneBeforeKill = await database.ChildrenAsync(parentId, "succeeded");
            await first.KillAsync();
        }

        var queuedAtKill = await database.CountAsync("select count(*) from tasks where status = 'queued'");
        Assert.True(queuedAtKill >= 150, $"only {queuedAtKill} tasks were still queued at the kill");

        // Quicker models after the restart, so that the whole backlog fits in the 60 seconds.
        settings["Models:Default:LatencyMs"] = "1000";
        settings["Models:Slow:LatencyMs"] = "1000";
        await using var second = await ServiceProcess.StartAsync(settings);
        var sinceRestart = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await ReliabilityDatabase.WaitUntilAsync(
                async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(60), "every task to finish after the restart");
            output.WriteLine($"{queuedAtKill} queued at the kill; every task final {sinceRestart.Elapsed.TotalSeconds:F1} s after the restart was ready.");
        }
        catch (TimeoutException exception)
        {
            Assert.Fail($"{exception.Message} Status counts: {string.Join(", ", await database.StatusCountsAsync())}\n{second.LogTail()}");
        }

        Assert.Equal(new Dictionary<string, long> { ["succeeded"] = 255 }, await database.StatusCountsAsync());
        Assert.Empty(await database.TasksNotFinishedExactlyOnceAsync());
        Assert.All(await database.StartedCountsAsync(childrenDoneBeforeKill), pair => Assert.Equal(1, pair.Value));
        Assert.Equal(childrenDoneBeforeKill.Count, (await database.StartedCountsAsync(childrenDoneBeforeKill)).Count);
        Assert.Equal(4, (await database.ChildrenAsync(parentId, "succeeded")).Count);
    }

    [Fact]
    public async Task Sigterm_PastGracePeriod_RunsAgainOnce()
    {
        var database = new ReliabilityDatabase(await PostgresServer.CreateDatabaseAsync());
        Dictionary<string, string?> overrides = new()
        {
            ["Lanes:main:MaxConcurrent"] = "6",
            // The quick tasks must outlast the four submissions before the stop, so that the
            // waiting ones find the lane still full, and end well within the grace period.
            ["Dispatcher:ShutdownGracePeriod"] = "00:00:04",
            ["Models:Default:LatencyMs"] = "1500",
            ["Models:Slow:Provider"] = "simulated",
            ["Models:Slow:LatencyMs"] = "600000",
        };

        List<Guid> quick = [];
        List<Guid> slow = [];
        List<Guid> waiting = [];
        await using (var first = await ServiceProcess.StartAsync(Settings(database, overrides)))
        {
            using var client = first.CreateClient(AgentApiFactory.AdminKey);
            for (var n = 0; n < 3; n++)
            {
                slow.Add(await SubmitAsync(client, new { agent = "slow", input = $"outlives the grace period {n}" }));
            }

            await ReliabilityDatabase.WaitUntilAsync(
                async () => await database.CountAsync("select count(*) from tasks where status = 'running'") == 3, TimeSpan.FromSeconds(30), "the slow tasks to start");
            for (var n = 0; n < 3; n++)
            {
                quick.Add(await SubmitAsync(client, new { input = $"ends inside the grace period {n}" }));
            }

            await ReliabilityDatabase.WaitUntilAsync(
                async () => await database.CountAsync("select count(*) from tasks where status = 'running'") == 6, TimeSpan.FromSeconds(30), "six running tasks");
            for (var n = 0; n < 4; n++)
            {
                waiting.Add(await SubmitAsync(client, new { input = $"waits in the full lane {n}" }));
            }

            var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.True(exitCode == 0, $"exit code {exitCode}\n{first.LogTail()}");
        }

        // The quick ones finished while the service drained; the others wait for the next start.
        Assert.Equal(3, await database.CountAsync(
            $"select count(*) from tasks where status = 'succeeded' and id in ({string.Join(',', quick.Select(id => $"'{id}'"))})"));
        Assert.Equal(7, await database.UnfinishedAsync());

        overrides["Models:Slow:LatencyMs"] = "100";
        await using var second = await ServiceProcess.StartAsync(Settings(database, overrides));
        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(60), "every task to finish after the restart");

        Assert.Equal(new Dictionary<string, long> { ["succeeded"] = 10 }, await database.StatusCountsAsync());
        Assert.Empty(await database.TasksNotFinishedExactlyOnceAsync());
        var started = await database.StartedCountsAsync([.. quick, .. slow]);
        Assert.All(quick, id => Assert.Equal(1, started[id]));
        Assert.All(slow, id => Assert.Equal(2, started[id]));
    }

    [Fact]
    public async Task Sigterm_DatabaseHung_ExitsCleanly()
    {
        var database = new ReliabilityDatabase(await PostgresServer.CreateDatabaseAsync());
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var gate = new TcpGate(new IPEndPoint(IPAddress.Parse(direct.Host!), direct.Port));
        var throughGate = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = gate.Port, MaxPoolSize = 20 };
        var gracePeriod = TimeSpan.FromSeconds(3);
        Dictionary<string, string?> overrides = new()
        {
            ["ConnectionStrings:Postgres"] = throughGate.ConnectionString,
            ["Lanes:main:MaxConcurrent"] = "4",
            ["Dispatcher:ShutdownGracePeriod"] = "00:00:03",
            ["Models:Default:LatencyMs"] = "2000",
            // Times in the log tail that a failure prints show which part of the stop was slow.
            ["Logging:Console:TimestampFormat"] = "HH:mm:ss.fff ",
        };

        List<Guid> submitted = [];
        await using (var first = await ServiceProcess.StartAsync(Settings(database, overrides)))
        {
            using var client = first.CreateClient(AgentApiFactory.AdminKey);
            for (var n = 0; n < 10; n++)
            {
                submitted.Add(await SubmitAsync(client, new { input = $"runs while the database hangs {n}" }));
            }

            await ReliabilityDatabase.WaitUntilAsync(
                async () => await database.CountAsync("select count(*) from tasks where status = 'running'") == 4, TimeSpan.FromSeconds(30), "four running tasks");

            // The server keeps its connections open and accepts new ones, but replies to nothing,
            // as a paused PostgreSQL does. The host gives its services the grace period plus 15 s.
            gate.Freeze();
            var stopping = Stopwatch.StartNew();
            var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(90));
            output.WriteLine($"stopped in {stopping.Elapsed.TotalSeconds:F1} s with exit code {exitCode}");
            Assert.True(exitCode == 0, $"exit code {exitCode} after {stopping.Elapsed.TotalSeconds:F1} s\n{first.LogTail()}");
            // The host's timeout plus the dispatcher's 5 s for cancelled work make about 23 s. Each
            // cancellation run on the host's thread against the hung server would add Npgsql's 15 s
            // connect timeout.
            Assert.True(stopping.Elapsed < gracePeriod + TimeSpan.FromSeconds(30), $"the stop took {stopping.Elapsed.TotalSeconds:F1} s\n{first.LogTail()}");
        }

        gate.Thaw();
        await using var second = await ServiceProcess.StartAsync(Settings(database, overrides));
        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(90), "every task to finish after the restart");

        Assert.Equal(new Dictionary<string, long> { ["succeeded"] = 10 }, await database.StatusCountsAsync());
        Assert.Empty(await database.TasksNotFinishedExactlyOnceAsync());
        Assert.Equal(submitted.Count, (await database.StartedCountsAsync(submitted)).Count);
    }

    [Fact]
    public async Task Sigterm_DuringFanOut_ParentRunsAgain()
    {
        var database = new ReliabilityDatabase(await PostgresServer.CreateDatabaseAsync());
        Dictionary<string, string?> overrides = new()
        {
            // Two children run and end inside the grace period, and the four that wait are handed back.
            ["Lanes:subagent:MaxConcurrent"] = "2",
            ["Dispatcher:ShutdownGracePeriod"] = "00:00:04",
            ["Models:Fast:Provider"] = "simulated",
            ["Models:Fast:LatencyMs"] = "1000",
        };

        Guid parentId;
        await using (var first = await ServiceProcess.StartAsync(Settings(database, overrides)))
        {
            using var client = first.CreateClient(AgentApiFactory.AdminKey);
            parentId = await SubmitAsync(client, new
            {
                input = "Fan out, then stop",
                subtasks = Enumerable.Range(1, 6).Select(n => new { agent = "fast", input = $"part {n}" }).ToArray(),
            });
            await ReliabilityDatabase.WaitUntilAsync(
                async () => await database.CountAsync("select count(*) from tasks where parent_id is not null and status = 'running'") == 2,
                TimeSpan.FromSeconds(30),
                "two running children");

            var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.True(exitCode == 0, $"exit code {exitCode}\n{first.LogTail()}");
        }

        // The stop did not count as a failure of the parent, which waits unfinished for the next start.
        Assert.Equal(1, await database.CountAsync($"select count(*) from tasks where id = '{parentId}' and status = 'queued'"));
        var doneBeforeStop = await database.ChildrenAsync(parentId, "succeeded");
        Assert.Equal(2, doneBeforeStop.Count);

        await using var second = await ServiceProcess.StartAsync(Settings(database, overrides));
        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(60), "the fan-out to finish after the restart");

        Assert.Equal(new Dictionary<string, long> { ["succeeded"] = 7 }, await database.StatusCountsAsync());
        Assert.Equal(2, await database.CountAsync($"select attempts from tasks where id = '{parentId}'"));
        Assert.Equal(0, await database.CountAsync(
            $"select count(*) from task_events where task_id = '{parentId}' and data_json like '%model_timeout%'"));
        Assert.All((await database.StartedCountsAsync(doneBeforeStop)).Values, count => Assert.Equal(1, count));
    }

    private static async Task SetLaneAsync(HttpClient client, string lane, int limit)
    {
        using var response = await client.PutAsJsonAsync($"/api/lanes/{lane}", new { maxConcurrent = limit });
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    internal static Dictionary<string, string?> Settings(ReliabilityDatabase database, Dictionary<string, string?> overrides)
    {
        var agents = Directory.CreateTempSubdirectory("agentapi-crash-agents-").FullName;
        foreach (var (name, model) in new[] { ("fast", "Fast"), ("slow", "Slow") })
        {
            File.WriteAllText(Path.Combine(agents, $"{name}.md"), $"""
                ---
                name: {name}
                description: A test agent on the {model} model.
                tools: []
                model: {model}
                ---
                Answer briefly.
                """);
        }

        Dictionary<string, string?> settings = new()
        {
            // Small pools, because these tests run several service processes beside the others.
            ["ConnectionStrings:Postgres"] = database.ConnectionString + ";Maximum Pool Size=20",
            ["Auth:ApiKeys:0"] = AgentApiFactory.AdminKey,
            ["Storage:DataDirectory"] = Directory.CreateTempSubdirectory("agentapi-crash-data-").FullName,
            ["Agents:Directory"] = agents,
            ["RateLimits:PermitsPerWindow"] = "0",
            ["Queues:WorkerCount"] = "8",
            ["Leases:Duration"] = "00:00:05",
            ["Leases:RenewInterval"] = "00:00:01",
            ["Leases:RecoveryInterval"] = "00:00:01",
            ["Queues:PollInterval"] = "00:00:00.200",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return settings;
    }

    internal static async Task<Guid> SubmitAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("/api/tasks", body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<TaskDto>())!.Id;
    }
}

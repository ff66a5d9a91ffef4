using System.Collections.Concurrent;
using System.Globalization;
using AgentApi.Tests.Events;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;
using Xunit.Abstractions;

namespace AgentApi.Tests.Reliability;

/// <summary>Two service processes on one PostgreSQL database, one of them stopped mid-run.</summary>
[Trait("Category", "Reliability")]
public sealed partial class TwoInstanceTests(ITestOutputHelper output)
{
    private const int TaskCount = 1_000;

    [Fact]
    public async Task TwoInstances_StopOne_EachTaskRunsOnce()
    {
        var database = new ReliabilityDatabase(await PostgresServer.CreateDatabaseAsync());
        var settings = CrashTests.Settings(database, new()
        {
            ["Lanes:main:MaxConcurrent"] = "25",
            ["Models:Default:LatencyMs"] = "800",
            ["Dispatcher:ShutdownGracePeriod"] = "00:00:01",
        });
        await using var first = await ServiceProcess.StartAsync(settings);
        await using var second = await ServiceProcess.StartAsync(settings);
        using var firstClient = first.CreateClient(AgentApiFactory.AdminKey);
        using var secondClient = second.CreateClient(AgentApiFactory.AdminKey);

        // A dashboard client on each instance counts the tasks it saw succeed.
        ConcurrentDictionary<Guid, byte> seenByFirst = [];
        ConcurrentDictionary<Guid, byte> seenBySecond = [];
        await using var firstHub = await SubscribeAllAsync(first, seenByFirst);
        await using var secondHub = await SubscribeAllAsync(second, seenBySecond);

        ConcurrentBag<Guid> ids = [];
        await Parallel.ForEachAsync(Enumerable.Range(0, TaskCount), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, _) =>
            ids.Add(await CrashTests.SubmitAsync(n % 2 == 0 ? firstClient : secondClient, new { input = $"two instances {n}" })));

        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.CountAsync("select count(*) from tasks where status = 'succeeded'") >= 200,
            TimeSpan.FromSeconds(60), "200 tasks to succeed");
        var unfinishedAtStop = await database.UnfinishedAsync();
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exitCode);
        var seenByFirstBeforeStop = seenByFirst.Keys.ToHashSet();
        output.WriteLine($"The first instance took {stopping.ElapsedMilliseconds} ms to stop; {await database.UnfinishedAsync()} tasks were unfinished then.");

        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(90), "the second instance to finish every task");

        Assert.True(unfinishedAtStop > 100, $"only {unfinishedAtStop} tasks were left when the first instance stopped");
        Assert.Equal(new Dictionary<string, long> { ["succeeded"] = TaskCount }, await database.StatusCountsAsync());
        Assert.Empty(await database.TasksNotFinishedExactlyOnceAsync());

        // Both instances ran tasks, and each one's client saw tasks that the other ran.
        var ranBy = await RunningServerByTaskAsync(database.ConnectionString);
        var ranByFirst = ranBy.Where(pair => pair.Value == first.Id).Select(pair => pair.Key).ToHashSet();
        var ranBySecond = ranBy.Where(pair => pair.Value == second.Id).Select(pair => pair.Key).ToHashSet();
        output.WriteLine($"{unfinishedAtStop} unfinished at the stop; the first ran {ranByFirst.Count}, the second {ranBySecond.Count}; "
            + $"the first's client saw {seenByFirstBeforeStop.Count} succeed before the stop.");
        Assert.NotEmpty(ranByFirst);
        Assert.NotEmpty(ranBySecond);
        Assert.Contains(seenBySecond.Keys, ranByFirst.Contains);
        Assert.Contains(seenByFirstBeforeStop, ranBySecond.Contains);
        await ReliabilityDatabase.WaitUntilAsync(
            () => Task.FromResult(seenBySecond.Count == TaskCount), TimeSpan.FromSeconds(10), "the second instance's client to see every task succeed");
    }

    private static async Task<HubConnection> SubscribeAllAsync(ServiceProcess service, ConcurrentDictionary<Guid, byte> succeeded)
    {
        var connection = HubClient.Build(service.Address, AgentApiFactory.AdminKey);
        connection.On<TaskEventDto>("taskEvent", taskEvent =>
        {
            if (taskEvent.Type == "succeeded")
            {
                succeeded.TryAdd(taskEvent.TaskId, 0);
            }
        });
        await connection.StartAsync().WaitAsync(TestTimeouts.Request);
        await connection.InvokeAsync("SubscribeAll").WaitAsync(TestTimeouts.Request);
        return connection;
    }

    /// <summary>
    /// For each task, the process id of the instance that ran its last attempt, read from the
    /// <c>instance</c> of its last <c>started</c> event. An instance names itself
    /// <c>host:pid:suffix</c>.
    /// </summary>
    private static async Task<Dictionary<Guid, int>> RunningServerByTaskAsync(string connectionString)
    {
        Dictionary<Guid, int> ranBy = [];
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select task_id, data_json::jsonb ->> 'instance' from task_events where type = 'started' order by task_id, sequence",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var instance = reader.IsDBNull(1) ? "" : reader.GetString(1);
            if (InstancePattern().Match(instance) is { Success: true } match)
            {
                ranBy[reader.GetGuid(0)] = int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
            }
        }

        return ranBy;
    }

    [System.Text.RegularExpressions.GeneratedRegex(":([0-9]+):[0-9a-f]+$")]
    private static partial System.Text.RegularExpressions.Regex InstancePattern();
}

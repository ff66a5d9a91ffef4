using AgentApi.Processes;
using AgentApi.Tests.Infrastructure;
using AgentApi.Tests.Reliability;

namespace AgentApi.Tests.Processes;

/// <summary>A process agent's program when the service that started it is killed with SIGKILL.</summary>
[Trait("Category", "Reliability")]
public sealed class ProcessCrashTests
{
    [CgroupFact]
    public async Task KillNine_OrphanedProgram_EndsAtNextStart()
    {
        var database = new ReliabilityDatabase(await PostgresServer.CreateDatabaseAsync());
        var settings = CrashTests.Settings(database, []);
        File.WriteAllText(Path.Combine(settings["Agents:Directory"]!, "sleeper.md"), """
            ---
            name: sleeper
            description: Sleeps for five minutes.
            command: /bin/sh
            args: ["-c", "sleep 300"]
            pidsLimit: 8
            ---
            """);

        Guid taskId;
        int servicePid;
        List<int> orphans;
        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            using var client = first.CreateClient(AgentApiFactory.AdminKey);
            taskId = await CrashTests.SubmitAsync(client, new { agent = "sleeper", input = "sleep" });
            servicePid = first.Id;
            List<string> groups = [];
            await ReliabilityDatabase.WaitUntilAsync(() =>
            {
                groups = RunGroups(taskId, servicePid);
                return Task.FromResult(groups.Count > 0 && Members(groups).Count > 0);
            }, TimeSpan.FromSeconds(30), "the program to start in its cgroup");
            orphans = Members(groups);
            await first.KillAsync();
        }

        Assert.All(orphans, pid => Assert.True(Directory.Exists($"/proc/{pid}"), $"program {pid} ended with the service"));

        await using var second = await ServiceProcess.StartAsync(settings);
        await ReliabilityDatabase.WaitUntilAsync(
            () => Task.FromResult(RunGroups(taskId, servicePid).Count == 0 && orphans.All(pid => !Directory.Exists($"/proc/{pid}"))),
            TimeSpan.FromSeconds(20), "the orphaned program and its cgroups to go");

        // The retry runs the program again under the new service; cancelling it ends that run.
        using var client2 = second.CreateClient(AgentApiFactory.AdminKey);
        using var cancel = await client2.PostAsync($"/api/tasks/{taskId}/cancel", null);
        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(30), "the retried task to end");
    }

    /// <summary>The run groups of the task made by the service process <paramref name="servicePid"/>, in every hierarchy.</summary>
    private static List<string> RunGroups(Guid taskId, int servicePid) =>
        [.. Directory.EnumerateDirectories("/sys/fs/cgroup", $"{ProcessCgroups.GroupPrefix}{taskId:N}-{servicePid}-*", SearchOption.AllDirectories)];

    private static List<int> Members(IEnumerable<string> groups)
    {
        HashSet<int> members = [];
        foreach (var group in groups)
        {
            try
            {
                foreach (var line in File.ReadAllLines(Path.Combine(group, "cgroup.procs")))
                {
                    if (int.TryParse(line, out var pid))
                    {
                        members.Add(pid);
                    }
                }
            }
            catch (IOException)
            {
                // Removed while it was read.
            }
        }

        return [.. members];
    }
}

using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Processes;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Processes;

/// <summary>
/// Process agents run by the real service on PostgreSQL, with real cgroups on this machine
/// (v1 here and in CI; v2 writes are covered by <see cref="ProcessCgroupsFixtureTests"/>).
/// </summary>
public sealed class ProcessAgentTests(ProcessAgentTests.ServiceFixture fixture) : IClassFixture<ProcessAgentTests.ServiceFixture>
{
    private const string Python = "/usr/bin/python3";

    [CgroupFact]
    public async Task PinnedAgent_PrintsCpusAllowedList_AsConfigured()
    {
        foreach (var (agent, expected) in new[] { ("cpu-zero", "0"), ("cpu-one", "1"), ("cpu-both", "0-1") })
        {
            var task = await RunAsync(new { agent, input = "which CPUs?" });

            Assert.Equal("succeeded", task.Status);
            Assert.Equal($"Cpus_allowed_list:\t{expected}", task.Result!.Text);
            await AssertNoGroupLeftAsync(task.Id);
        }
    }

    [CgroupFact]
    public async Task MemoryHog_Over64Mi_FailsWithMemoryLimitExceeded()
    {
        var task = await RunAsync(new { agent = "memory-hog", input = "allocate" });

        Assert.Equal("failed", task.Status);
        Assert.Equal("memory_limit_exceeded", task.Error!.Type);
        Assert.Contains("64Mi", task.Error.Message, StringComparison.Ordinal);
        await AssertNoGroupLeftAsync(task.Id);

        // The service keeps running: the next task succeeds.
        var next = await RunAsync(new { agent = "echo-stdin", input = "still here" });
        Assert.Equal("succeeded", next.Status);
        Assert.Equal("still here", next.Result!.Text);
    }

    [CgroupFact]
    public async Task BusyChild_CpuQuotaHalf_UsesAboutOneSecondInTwo()
    {
        var task = await RunAsync(new { agent = "busy-half", input = "spin" });

        Assert.Equal("succeeded", task.Status);
        var exited = await FindEventAsync(task.Id, "process_exited");
        var cpuUsageUs = exited.GetProperty("cpuUsageUs").GetInt64();

        // The quota caps the spinning child at about 1 s in 2; without it the child takes 2 s. It
        // can get less than its quota when the rest of the suite keeps both cores busy: one full
        // run here measured 0.56 s.
        Assert.InRange(cpuUsageUs, 400_000, 1_250_000);
        var started = await FindEventAsync(task.Id, "process_started");
        var quota = started.GetProperty("limits").EnumerateArray().Single(limit => limit.GetProperty("limit").GetString() == "cpuQuota");
        Assert.True(quota.GetProperty("applied").GetBoolean());
        Assert.Equal("cgroup v1 cpu.cfs_quota_us", quota.GetProperty("method").GetString());
        await AssertNoGroupLeftAsync(task.Id);
    }

    [CgroupFact]
    public async Task Grandchild_AgentTimeout_TimesOutAndLeavesNoProcess()
    {
        var task = await RunAsync(new { agent = "spawner-timeout", input = "go" });

        Assert.Equal("timed_out", task.Status);
        Assert.Equal("timed_out", task.Error!.Type);
        Assert.Empty(FindProcesses(fixture.TimeoutMarker));
        await AssertNoGroupLeftAsync(task.Id);
    }

    [CgroupFact]
    public async Task Grandchild_Cancelled_LeavesNoProcess()
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var id = await fixture.Factory.SubmitAsync(client, new { agent = "spawner", input = "go" });
        await WaitForEventAsync(id, "output");
        Assert.NotEmpty(FindProcesses(fixture.CancelMarker));

        var response = await client.PostAsync($"/api/tasks/{id}/cancel", null).WaitAsync(TestTimeouts.Request);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var task = await AgentApiFactory.WaitForFinishAsync(client, id);

        Assert.Equal("cancelled", task.Status);
        Assert.Empty(FindProcesses(fixture.CancelMarker));
        await AssertNoGroupLeftAsync(id);
    }

    [CgroupFact]
    public async Task FanOut_ProcessAndModelChildren_EachRunsOnItsCpus()
    {
        var parent = await RunAsync(new
        {
            input = "check the pinning",
            subtasks = new object[]
            {
                new { agent = "cpu-zero", input = "a" },
                new { agent = "cpu-one", input = "b" },
                new { agent = "cpu-both", input = "c" },
                new { agent = "general-purpose", input = "d" },
            },
        });

        Assert.Equal("succeeded", parent.Status);
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var children = await client.GetFromJsonAsync<TaskPageDto>($"/api/tasks?parentId={parent.Id}&limit=10").WaitAsync(TestTimeouts.Request);
        var byAgent = children!.Items.ToDictionary(child => child.Agent);
        Assert.Equal("Cpus_allowed_list:\t0", byAgent["cpu-zero"].Result!.Text);
        Assert.Equal("Cpus_allowed_list:\t1", byAgent["cpu-one"].Result!.Text);
        Assert.Equal("Cpus_allowed_list:\t0-1", byAgent["cpu-both"].Result!.Text);
        Assert.Equal("succeeded", byAgent["general-purpose"].Status);
        foreach (var child in children.Items)
        {
            await AssertNoGroupLeftAsync(child.Id);
        }
    }

    [Fact]
    public async Task Input_OnStdinOrAsArgument_ReachesProgram()
    {
        var onStdin = await RunAsync(new { agent = "echo-stdin", input = "line one\nline two" });
        var asArgument = await RunAsync(new { agent = "echo-argument", input = "as an argument" });

        Assert.Equal("line one\nline two", onStdin.Result!.Text);
        Assert.Equal("[as an argument]", asArgument.Result!.Text);
        var outputs = await ReadEventsAsync(onStdin.Id, "output");
        Assert.Equal("line one\nline two\n", string.Concat(outputs.Select(output => output.GetProperty("text").GetString())));
    }

    [Fact]
    public async Task TaskPage_ProcessResult_NamesAgentNotModel()
    {
        var task = await RunAsync(new { agent = "echo-argument", input = "for the page" });
        var modelTask = await RunAsync(new { agent = "general-purpose", input = "for the page" });
        using var client = fixture.Factory.CreateAuthenticatedClient();

        var page = await client.GetStringAsync($"/tasks/{task.Id}").WaitAsync(TestTimeouts.Request);
        var modelPage = await client.GetStringAsync($"/tasks/{modelTask.Id}").WaitAsync(TestTimeouts.Request);

        Assert.Equal("succeeded", task.Status);
        Assert.Contains("Result from agent <strong>echo-argument</strong>, which reported no model and no token counts.", page, StringComparison.Ordinal);
        Assert.DoesNotContain("Result from model", page, StringComparison.Ordinal);
        Assert.Matches(@"Result from model <strong>[^<]+</strong>,\s+\d+ input and \d+ output tokens\.", modelPage);
    }

    [Fact]
    public async Task FailingProgram_ExitCode3_FailsWithStandardErrorTail()
    {
        var task = await RunAsync(new { agent = "failing", input = "x" });

        Assert.Equal("failed", task.Status);
        Assert.Equal("process_failed", task.Error!.Type);
        Assert.Contains("exited with code 3", task.Error.Message, StringComparison.Ordinal);
        Assert.Contains("something broke", task.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HugeLineWithoutNewline_IsCutAndBounded()
    {
        var task = await RunAsync(new { agent = "huge-line", input = "x" });

        Assert.Equal("succeeded", task.Status);
        Assert.True(task.Result!.Text.Length < 40_000, $"The result has {task.Result.Text.Length} characters.");
        Assert.Contains("[line cut: ", task.Result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentsApi_ProcessAgent_ShowsLimitsAndEnvNamesOnly()
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();

        var list = await client.GetFromJsonAsync<JsonElement>("/api/agents").WaitAsync(TestTimeouts.Request);
        var agent = await client.GetFromJsonAsync<JsonElement>("/api/agents/memory-hog").WaitAsync(TestTimeouts.Request);

        var process = agent.GetProperty("process");
        Assert.Equal(Python, process.GetProperty("command").GetString());
        Assert.Equal("64Mi", process.GetProperty("limits").GetProperty("memoryLimit").GetString());
        Assert.Equal(64L << 20, process.GetProperty("limits").GetProperty("memoryLimitBytes").GetInt64());
        Assert.Equal(["SECRET_TOKEN"], process.GetProperty("env").EnumerateArray().Select(name => name.GetString()));
        Assert.DoesNotContain("do-not-show", agent.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(agent.GetProperty("tools").EnumerateArray());
        var summary = list.GetProperty("items").EnumerateArray().Single(item => item.GetProperty("name").GetString() == "busy-half");
        Assert.Equal(0.5, summary.GetProperty("process").GetProperty("limits").GetProperty("cpuQuota").GetDouble());
        var broken = list.GetProperty("broken").EnumerateArray().Single(file => file.GetProperty("file").GetString()!.EndsWith("bad-limits.md", StringComparison.Ordinal));
        var reason = broken.GetProperty("reason").GetString()!;
        Assert.Contains("'memoryLimit' must be a size", reason, StringComparison.Ordinal);
        Assert.Contains("'cpus' must be a CPU list", reason, StringComparison.Ordinal);
        Assert.Contains("'cpuQuota' must be a number of cores", reason, StringComparison.Ordinal);
    }

    private async Task<TaskDto> RunAsync(object body)
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var id = await fixture.Factory.SubmitAsync(client, body);
        return await AgentApiFactory.WaitForFinishAsync(client, id, TimeSpan.FromSeconds(60));
    }

    private async Task<List<JsonElement>> ReadEventsAsync(Guid id, string type)
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events").WaitAsync(TestTimeouts.Request);
        return [.. events!.Where(item => item.Type == type).Select(item => item.Data!.Value)];
    }

    private async Task<JsonElement> FindEventAsync(Guid id, string type) => Assert.Single(await ReadEventsAsync(id, type));

    private async Task WaitForEventAsync(Guid id, string type)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            if ((await ReadEventsAsync(id, type)).Count > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Task {id} has no '{type}' event.");
    }

    /// <summary>Returns the pids of live processes whose command line contains <paramref name="marker"/>; zombies do not count.</summary>
    private static List<int> FindProcesses(string marker)
    {
        List<int> found = [];
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Join(directory, "cmdline")).Replace('\0', ' ');
                var state = File.ReadAllLines(Path.Join(directory, "status")).FirstOrDefault(line => line.StartsWith("State:", StringComparison.Ordinal));
                if (commandLine.Contains(marker, StringComparison.Ordinal) && state?.Contains('Z', StringComparison.Ordinal) != true)
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process exited while it was read.
            }
        }

        return found;
    }

    /// <summary>Asserts that no cgroup created for the task's runs is left in any hierarchy.</summary>
    private static async Task AssertNoGroupLeftAsync(Guid taskId)
    {
        var prefix = $"{ProcessCgroups.GroupPrefix}{taskId:N}";

        // The outcome is stored before the last cleanup step of a child may finish.
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(10);
        List<string> left;
        do
        {
            left = [.. Directory.EnumerateDirectories("/sys/fs/cgroup", prefix + "*", SearchOption.AllDirectories)];
            if (left.Count == 0)
            {
                return;
            }

            await Task.Delay(50);
        }
        while (TimeProvider.System.GetUtcNow() < deadline);

        Assert.Fail($"cgroups of task {taskId} remain: {string.Join(", ", left)}");
    }

    /// <summary>The service with a folder of process agents, shared by the tests of the class.</summary>
    public sealed class ServiceFixture : IAsyncLifetime
    {
        private readonly string _agents = Directory.CreateTempSubdirectory("agentapi-process-agents-").FullName;
        private AgentApiFactory? _factory;

        public AgentApiFactory Factory => _factory ?? throw new InvalidOperationException("The fixture has not started.");

        /// <summary>A sleep duration no other process uses, which finds the grandchildren of one test in <c>/proc</c>.</summary>
        public string TimeoutMarker { get; } = $"3599.{Random.Shared.Next(100_000, 999_999)}";

        public string CancelMarker { get; } = $"3598.{Random.Shared.Next(100_000, 999_999)}";

        public async Task InitializeAsync()
        {
            const string cpuScript = "grep Cpus_allowed_list /proc/self/status";
            Write("cpu-zero", $"command: /bin/sh\nargs: [\"-c\", \"{cpuScript}\"]\ncpus: \"0\"");
            Write("cpu-one", $"command: /bin/sh\nargs: [\"-c\", \"{cpuScript}\"]\ncpus: \"1\"");
            Write("cpu-both", $"command: /bin/sh\nargs: [\"-c\", \"{cpuScript}\"]\ncpus: 0-1");
            Write("memory-hog", $"command: {Python}\nargs: [\"-c\", \"b = bytearray(512 * 1024 * 1024); print(len(b))\"]\nmemoryLimit: 64Mi\nenv:\n  SECRET_TOKEN: do-not-show");
            // Two loops, so the quota rather than one busy CPU is the bound. timeout exits 124 when
            // it stops a loop, which is the expected end here.
            Write("busy-half", "command: /bin/sh\nargs:\n  - -c\n  - \"timeout 2 /bin/sh -c 'while :; do :; done' & timeout 2 /bin/sh -c 'while :; do :; done'; wait; exit 0\"\ncpuQuota: 0.5");
            Write("spawner-timeout", $"command: /bin/sh\nargs: [\"-c\", \"setsid sleep {TimeoutMarker} & nohup sleep {TimeoutMarker} >/dev/null 2>&1 & echo started; sleep {TimeoutMarker}\"]\ntimeoutSeconds: 2");
            Write("spawner", $"command: /bin/sh\nargs: [\"-c\", \"setsid sleep {CancelMarker} & echo started; sleep {CancelMarker}\"]");
            Write("echo-stdin", "command: cat");
            Write("echo-argument", "command: /bin/sh\nargs: [\"-c\", \"printf '[%s]' \\\"$1\\\"\", \"sh\", \"{input}\"]");
            Write("failing", "command: /bin/sh\nargs: [\"-c\", \"echo something broke >&2; exit 3\"]");
            Write("huge-line", $"command: {Python}\nargs: [\"-c\", \"import sys; sys.stdout.write('x' * 5000000)\"]");
            Write("bad-limits", "command: /bin/true\nmemoryLimit: 64Megs\ncpus: \"1-0\"\ncpuQuota: lots");

            _factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
            {
                ["Agents:Directory"] = _agents,
                ["Processes:MaxLineChars"] = "20000",
            }).WaitAsync(TestTimeouts.Task);
        }

        public async Task DisposeAsync()
        {
            if (_factory is not null)
            {
                await _factory.DisposeAsync();
            }

            Directory.Delete(_agents, recursive: true);
        }

        private void Write(string name, string frontMatter) =>
            File.WriteAllText(Path.Join(_agents, name + ".md"), $"---\nname: {name}\ndescription: Test process agent {name}.\n{frontMatter}\n---\n");
    }
}

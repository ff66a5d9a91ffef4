using AgentApi.Processes;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Processes;

/// <summary>
/// The cgroup writes of process runs on fixture trees, for the cgroup version this machine does
/// not have, and for the file layout of the one it has. The kernel's interface files are
/// ordinary files there, so removal deletes them with the directory.
/// </summary>
public sealed class ProcessCgroupsFixtureTests : IDisposable
{
    private const string Own = "/sys/fs/cgroup/agentapi.slice/agentapi.service";
    private const string RunName = ProcessCgroups.GroupPrefix + "fixture";

    private static readonly ProcessLimits AllLimits = new("0-1", 0.5, 64L << 20, 32, TimeSpan.FromSeconds(10));

    private readonly FixtureRoot _root = new();
    private readonly LogCapture _logs = new();

    public void Dispose()
    {
        _root.Dispose();
        _logs.Dispose();
    }

    [Fact]
    public async Task Version2_AllLimits_WritesGroupFilesAndSubtreeControl()
    {
        _root.WriteVersion2Process("/agentapi.slice/agentapi.service")
            .Write($"{Own}/cgroup.controllers", "cpuset cpu io memory pids\n")
            .Write($"{Own}/cgroup.subtree_control", "\n");
        var cgroups = Create();

        var setup = cgroups.Create(RunName, AllLimits, "0-1");

        var group = Assert.IsType<CgroupRunGroup>(setup.Group);
        Assert.Equal(2, group.Version);
        Assert.Empty(setup.NotApplied);
        Assert.Equal("+cpuset +cpu +memory +pids", Read($"{Own}/cgroup.subtree_control"));
        Assert.Equal("0-1", Read($"{Own}/{RunName}/cpuset.cpus"));
        Assert.Equal("50000 100000", Read($"{Own}/{RunName}/cpu.max"));
        Assert.Equal("67108864", Read($"{Own}/{RunName}/memory.max"));
        Assert.Equal("32", Read($"{Own}/{RunName}/pids.max"));
        Assert.Equal("cgroup v2 memory.max", setup.Applied["memoryLimit"]);
        Assert.Equal([_root.Resolve($"{Own}/{RunName}/cgroup.procs")], group.ProcsFiles);

        // Limits go to the run's group only, never to the service's own group.
        Assert.False(File.Exists(_root.Resolve($"{Own}/memory.max")));

        await group.RemoveAsync(TimeProvider.System);
        Assert.False(Directory.Exists(_root.Resolve($"{Own}/{RunName}")));
    }

    [Fact]
    public async Task Leftovers_OfDeadService_AreRemoved()
    {
        var task = Guid.CreateVersion7();
        var dead = $"{ProcessCgroups.GroupPrefix}{task:N}-999999-0a1b2c3d";
        var live = $"{ProcessCgroups.GroupPrefix}{task:N}-4242-0a1b2c3d";
        var other = $"{ProcessCgroups.GroupPrefix}probe";
        _root.WriteVersion2Process("/agentapi.slice/agentapi.service")
            .Write($"{Own}/cgroup.controllers", "cpu memory pids\n")
            .Write($"{Own}/{dead}/cgroup.procs", "")
            .Write($"{Own}/{live}/cgroup.procs", "")
            .Write($"{Own}/{other}/cgroup.procs", "")
            .Write("/proc/4242/status", "Name:\tdotnet\n");

        var removed = await Create().RemoveLeftoversAsync(TimeProvider.System);

        Assert.Equal(1, removed);
        Assert.False(Directory.Exists(_root.Resolve($"{Own}/{dead}")));
        Assert.True(Directory.Exists(_root.Resolve($"{Own}/{live}")));
        Assert.True(Directory.Exists(_root.Resolve($"{Own}/{other}")));
    }

    [Theory]
    [InlineData("agentapi-run-0123456789abcdef0123456789abcdef-4242-0a1b2c3d", 4242)]
    [InlineData("agentapi-run-0123456789abcdef0123456789abcdef-0a1b2c3d", null)]
    [InlineData("agentapi-run-probe-x-y", null)]
    [InlineData("other-0123-4242-0a1b", null)]
    public void OwnerProcessId_ReadsThePidFromTheName(string name, int? expected)
    {
        Assert.Equal(expected, ProcessCgroups.OwnerProcessId(name));
    }

    [Fact]
    public void RunGroupName_CarriesThisProcessId()
    {
        Assert.Equal(Environment.ProcessId, ProcessCgroups.OwnerProcessId(ProcessCgroups.RunGroupName(Guid.CreateVersion7())));
    }

    [Fact]
    public void Version2_ControllerMissing_ReportsLimitNotApplied()
    {
        _root.WriteVersion2Process("/agentapi.slice/agentapi.service")
            .Write($"{Own}/cgroup.controllers", "cpu pids\n")
            .Write($"{Own}/cgroup.subtree_control", "cpu pids\n");
        var cgroups = Create();

        var setup = cgroups.Create(RunName, AllLimits with { Cpus = null }, cpus: null);

        Assert.NotNull(setup.Group);
        Assert.Contains("'memory' controller is not available", setup.NotApplied["memoryLimit"], StringComparison.Ordinal);
        Assert.Equal("cgroup v2 cpu.max", setup.Applied["cpuQuota"]);
        Assert.False(File.Exists(_root.Resolve($"{Own}/{RunName}/memory.max")));

        // Controllers already enabled are not written again.
        Assert.Equal("cpu pids", Read($"{Own}/cgroup.subtree_control"));
    }

    [Fact]
    public void Version2_AccountingFiles_ReadUsagePeakAndOomKills()
    {
        _root.WriteVersion2Process("/agentapi.slice/agentapi.service")
            .Write($"{Own}/cgroup.controllers", "cpu memory\n")
            .Write($"{Own}/cgroup.subtree_control", "cpu memory\n");
        var setup = Create().Create(RunName, AllLimits with { Cpus = null, PidsLimit = null }, cpus: null);
        _root.Write($"{Own}/{RunName}/cpu.stat", "usage_usec 1004321\nuser_usec 1000000\nsystem_usec 4321\n")
            .Write($"{Own}/{RunName}/memory.peak", "67100000\n")
            .Write($"{Own}/{RunName}/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
            .Write($"{Own}/{RunName}/cgroup.procs", "");

        var group = setup.Group!;

        Assert.Equal(1_004_321, group.ReadCpuUsageMicroseconds());
        Assert.Equal(67_100_000, group.ReadMemoryPeakBytes());
        Assert.Equal(1, group.ReadOomKills());
        Assert.Empty(group.ReadMembers());
    }

    [Fact]
    public void Version1_SeparateHierarchies_CreatesOneGroupEach()
    {
        const string memoryOwn = "/process_api/abc";
        _root.Write("/proc/self/cgroup", $"8:pids:/\n4:memory:{memoryOwn}\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n")
            .Write("/proc/self/mountinfo", string.Join('\n',
                "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
                "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
                "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
                "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
                "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw") + "\n")
            .Write("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-1\n")
            .Write("/sys/fs/cgroup/cpuset/cpuset.mems", "0\n")
            .Write($"/sys/fs/cgroup/memory{memoryOwn}/memory.memsw.limit_in_bytes", "9223372036854771712\n")
            .CreateDirectory("/sys/fs/cgroup/cpu").CreateDirectory("/sys/fs/cgroup/cpuacct").CreateDirectory("/sys/fs/cgroup/pids");

        // The fixture's own group has a swap limit file, so the run's group gets one, as the kernel does.
        _root.Write($"/sys/fs/cgroup/memory{memoryOwn}/{RunName}/memory.memsw.limit_in_bytes", "9223372036854771712\n");
        var setup = Create().Create(RunName, AllLimits, "1");

        var group = Assert.IsType<CgroupRunGroup>(setup.Group);
        Assert.Equal(1, group.Version);
        Assert.Equal(5, group.Directories.Count);
        Assert.Empty(setup.NotApplied);
        Assert.Equal("0", Read($"/sys/fs/cgroup/cpuset/{RunName}/cpuset.mems"));
        Assert.Equal("1", Read($"/sys/fs/cgroup/cpuset/{RunName}/cpuset.cpus"));
        Assert.Equal("100000", Read($"/sys/fs/cgroup/cpu/{RunName}/cpu.cfs_period_us"));
        Assert.Equal("50000", Read($"/sys/fs/cgroup/cpu/{RunName}/cpu.cfs_quota_us"));
        Assert.Equal("67108864", Read($"/sys/fs/cgroup/memory{memoryOwn}/{RunName}/memory.limit_in_bytes"));
        Assert.Equal("67108864", Read($"/sys/fs/cgroup/memory{memoryOwn}/{RunName}/memory.memsw.limit_in_bytes"));
        Assert.Equal("32", Read($"/sys/fs/cgroup/pids/{RunName}/pids.max"));
        Assert.False(File.Exists(_root.Resolve($"/sys/fs/cgroup/memory{memoryOwn}/memory.limit_in_bytes")));
    }

    [Fact]
    public void NoCgroup_Setup_SaysWhy()
    {
        _root.Write("/proc/self/cgroup", "0::/\n").Write("/proc/self/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");

        var setup = Create().Create(RunName, AllLimits, "0");

        Assert.Null(setup.Group);
        Assert.Contains("cgroup was not found", setup.Unavailable, StringComparison.Ordinal);
    }

    private ProcessCgroups Create() =>
        new(_root.Path, _logs.CreateLogger("test"), directory =>
        {
            Directory.Delete(directory, recursive: true);
            return true;
        });

    private string Read(string absolutePath) => File.ReadAllText(_root.Resolve(absolutePath)).Trim();
}

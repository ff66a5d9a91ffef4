using AgentApi.Processes;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Processes;

public sealed class CgroupReaderTests : IDisposable
{
    private const string ContainerCgroup = "/docker/3f2a9c";

    private const string Version1Memberships =
        "12:pids:/docker/3f2a9c\n5:memory:/docker/3f2a9c\n4:cpuset:/docker/3f2a9c\n3:cpu,cpuacct:/docker/3f2a9c\n" +
        "1:name=systemd:/docker/3f2a9c\n0::/docker/3f2a9c\n";

    private readonly FixtureRoot _root = new();
    private readonly LogCapture _logs = new();

    public void Dispose()
    {
        _root.Dispose();
        _logs.Dispose();
    }

    [Fact]
    public void Version2_LimitedCgroup_ReadsEveryLimit()
    {
        const string cgroup = "/sys/fs/cgroup/agentapi.slice/agentapi.service";
        _root.WriteVersion2Process("/agentapi.slice/agentapi.service")
            .Write($"{cgroup}/cpu.max", "50000 100000\n")
            .Write($"{cgroup}/cpu.weight", "200\n")
            .Write($"{cgroup}/cpuset.cpus.effective", "0-1\n")
            .Write($"{cgroup}/cpuset.cpus", "0-7\n")
            .Write($"{cgroup}/memory.max", "536870912\n")
            .Write($"{cgroup}/memory.current", "12345678\n")
            .Write($"{cgroup}/pids.max", "100\n")
            .Write("/sys/fs/cgroup/memory.max", "1073741824\n");

        var cgroups = Read();

        Assert.Equal(2, cgroups.Version);
        Assert.Equal(50_000, cgroups.Cpu.QuotaUs);
        Assert.Equal(100_000, cgroups.Cpu.PeriodUs);
        Assert.Null(cgroups.Cpu.Shares);
        Assert.Equal(200, cgroups.Cpu.Weight);
        Assert.Equal("0-1", cgroups.Cpuset);
        Assert.Equal(536_870_912, cgroups.Memory.LimitBytes);
        Assert.Equal(12_345_678, cgroups.Memory.UsageBytes);
        Assert.Equal(100, cgroups.Pids.Max);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void Version2_MaxValues_ReadAsNull()
    {
        _root.WriteVersion2Process("/user.slice")
            .Write("/sys/fs/cgroup/user.slice/cpu.max", "max 100000\n")
            .Write("/sys/fs/cgroup/user.slice/cpu.weight", "100\n")
            .Write("/sys/fs/cgroup/user.slice/cpuset.cpus.effective", "\n")
            .Write("/sys/fs/cgroup/user.slice/memory.max", "max\n")
            .Write("/sys/fs/cgroup/user.slice/memory.current", "4096\n")
            .Write("/sys/fs/cgroup/user.slice/pids.max", "max\n");

        var cgroups = Read();

        Assert.Equal(2, cgroups.Version);
        Assert.Null(cgroups.Cpu.QuotaUs);
        Assert.Equal(100_000, cgroups.Cpu.PeriodUs);
        Assert.Equal(100, cgroups.Cpu.Weight);
        Assert.Null(cgroups.Cpuset);
        Assert.Null(cgroups.Memory.LimitBytes);
        Assert.Equal(4096, cgroups.Memory.UsageBytes);
        Assert.Null(cgroups.Pids.Max);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void Version2_NoEffectiveCpuset_ReadsCpusetCpus()
    {
        _root.WriteVersion2Process("/app").Write("/sys/fs/cgroup/app/cpuset.cpus", "2-3,6\n");

        Assert.Equal("2-3,6", Read().Cpuset);
    }

    [Fact]
    public void Version2_ContainerMountRoot_ReadsMountPoint()
    {
        // Without a cgroup namespace, /proc/self/cgroup has the full path and the container's cgroup is the mount's root.
        const string cgroup = "/system.slice/docker-3f2a9c.scope";
        _root.WriteVersion2Process(
                cgroup,
                $"1290 1280 0:26 {cgroup} /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n")
            .Write("/sys/fs/cgroup/cpu.max", "200000 100000\n")
            .Write("/sys/fs/cgroup/memory.max", "268435456\n")
            .Write("/sys/fs/cgroup/pids.max", "512\n");

        var cgroups = Read();

        Assert.Equal(2, cgroups.Version);
        Assert.Equal(200_000, cgroups.Cpu.QuotaUs);
        Assert.Equal(268_435_456, cgroups.Memory.LimitBytes);
        Assert.Equal(512, cgroups.Pids.Max);
    }

    [Fact]
    public void Version2_PathBelowMountRoot_StripsMountRoot()
    {
        _root.WriteVersion2Process(
                "/kubepods/pod7/worker",
                "1290 1280 0:26 /kubepods/pod7 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
            .Write("/sys/fs/cgroup/memory.max", "999\n")
            .Write("/sys/fs/cgroup/worker/memory.max", "268435456\n");

        Assert.Equal(268_435_456, Read().Memory.LimitBytes);
    }

    [Fact]
    public void Version2_JoinedPathMissing_FallsBackToMountPoint()
    {
        // The mount's root field is "/", but only the container's own cgroup is visible at the mount point.
        _root.WriteVersion2Process("/system.slice/docker-3f2a9c.scope")
            .Write("/sys/fs/cgroup/memory.max", "268435456\n");

        Assert.Equal(268_435_456, Read().Memory.LimitBytes);
    }

    [Fact]
    public void Version2_PathLeavingNamespace_StaysAtMountPoint()
    {
        _root.WriteVersion2Process("/../../escaped")
            .Write("/sys/fs/cgroup/pids.max", "64\n")
            .Write("/escaped/pids.max", "1\n");

        Assert.Equal(64, Read().Pids.Max);
    }

    [Fact]
    public void Version2_MissingFiles_ReadAsNull()
    {
        // The root cgroup has none of the limit files.
        _root.WriteVersion2Process("/").CreateDirectory("/sys/fs/cgroup");

        var cgroups = Read();

        Assert.Equal(2, cgroups.Version);
        Assert.Equal(CgroupResources.None.Cpu, cgroups.Cpu);
        Assert.Null(cgroups.Cpuset);
        Assert.Equal(CgroupResources.None.Memory, cgroups.Memory);
        Assert.Null(cgroups.Pids.Max);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void Version2_EscapedMountPoint_IsDecoded()
    {
        _root.WriteVersion2Process("/", "40 23 0:26 / /sys/fs/cgroup\\040v2 rw - cgroup2 cgroup2 rw\n")
            .Write("/sys/fs/cgroup v2/pids.max", "32\n");

        Assert.Equal(32, Read().Pids.Max);
    }

    [Fact]
    public void Version1_LimitedCgroup_ReadsEveryLimit()
    {
        WriteVersion1Process(mountRoot: "/");
        WriteVersion1Limits($"/sys/fs/cgroup/{{0}}{ContainerCgroup}");
        _root.Write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");

        var cgroups = Read();

        Assert.Equal(1, cgroups.Version);
        Assert.Equal(150_000, cgroups.Cpu.QuotaUs);
        Assert.Equal(100_000, cgroups.Cpu.PeriodUs);
        Assert.Equal(512, cgroups.Cpu.Shares);
        Assert.Null(cgroups.Cpu.Weight);
        Assert.Equal("0,2", cgroups.Cpuset);
        Assert.Equal(1_073_741_824, cgroups.Memory.LimitBytes);
        Assert.Equal(7_340_032, cgroups.Memory.UsageBytes);
        Assert.Equal(256, cgroups.Pids.Max);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void Version1_NotLimited_ReadsAsNull()
    {
        WriteVersion1Process(mountRoot: "/");
        const string prefix = "/sys/fs/cgroup/{0}" + ContainerCgroup;
        WriteVersion1File(prefix, "cpu,cpuacct", "cpu.cfs_quota_us", "-1");
        WriteVersion1File(prefix, "cpu,cpuacct", "cpu.cfs_period_us", "100000");
        WriteVersion1File(prefix, "cpu,cpuacct", "cpu.shares", "1024");
        WriteVersion1File(prefix, "memory", "memory.limit_in_bytes", "9223372036854771712");
        WriteVersion1File(prefix, "memory", "memory.usage_in_bytes", "1587343360");
        WriteVersion1File(prefix, "pids", "pids.max", "max");

        var cgroups = Read();

        Assert.Equal(1, cgroups.Version);
        Assert.Null(cgroups.Cpu.QuotaUs);
        Assert.Equal(100_000, cgroups.Cpu.PeriodUs);
        Assert.Equal(1024, cgroups.Cpu.Shares);
        Assert.Null(cgroups.Cpuset);
        Assert.Null(cgroups.Memory.LimitBytes);
        Assert.Equal(1_587_343_360, cgroups.Memory.UsageBytes);
        Assert.Null(cgroups.Pids.Max);
        Assert.Empty(_logs.Entries);
    }

    [Theory]
    [InlineData("9223372036854771712")]
    [InlineData("9223372036854710272")]
    [InlineData("9223372036854775807")]
    public void Version1_PageAlignedMaximum_IsNotLimited(string limit)
    {
        WriteVersion1Process(mountRoot: "/");
        WriteVersion1File("/sys/fs/cgroup/{0}" + ContainerCgroup, "memory", "memory.limit_in_bytes", limit);

        Assert.Null(Read().Memory.LimitBytes);
    }

    [Fact]
    public void Version1_ContainerMountRoot_ReadsMountPoints()
    {
        WriteVersion1Process(mountRoot: ContainerCgroup);
        WriteVersion1Limits("/sys/fs/cgroup/{0}");

        var cgroups = Read();

        Assert.Equal(150_000, cgroups.Cpu.QuotaUs);
        Assert.Equal("0,2", cgroups.Cpuset);
        Assert.Equal(1_073_741_824, cgroups.Memory.LimitBytes);
        Assert.Equal(256, cgroups.Pids.Max);
    }

    [Fact]
    public void Version1_JoinedPathMissing_FallsBackToMountPoints()
    {
        WriteVersion1Process(mountRoot: "/");
        WriteVersion1Limits("/sys/fs/cgroup/{0}");

        var cgroups = Read();

        Assert.Equal(150_000, cgroups.Cpu.QuotaUs);
        Assert.Equal(1_073_741_824, cgroups.Memory.LimitBytes);
    }

    [Fact]
    public void Hybrid_Version1ControllersBesideUnifiedTree_ReportsVersion1()
    {
        // systemd's hybrid layout: the controllers on v1, and a v2 tree without controllers at /sys/fs/cgroup/unified.
        _root.Write("/proc/self/cgroup", Version1Memberships)
            .Write(
                "/proc/self/mountinfo",
                Version1Mounts("/") + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
        WriteVersion1File("/sys/fs/cgroup/{0}" + ContainerCgroup, "memory", "memory.limit_in_bytes", "2147483648");
        _root.Write($"/sys/fs/cgroup/unified{ContainerCgroup}/memory.max", "1\n");

        var cgroups = Read();

        Assert.Equal(1, cgroups.Version);
        Assert.Equal(2_147_483_648, cgroups.Memory.LimitBytes);
    }

    [Fact]
    public void Version1_SystemdHierarchyOnly_ReadsUnifiedTree()
    {
        // A v1 name=systemd hierarchy has no resource controller, so the v2 tree has the limits.
        _root.Write("/proc/self/cgroup", "1:name=systemd:/\n0::/app\n")
            .Write(
                "/proc/self/mountinfo",
                "36 31 0:33 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n" + FixtureRoot.Version2Mount)
            .Write("/sys/fs/cgroup/app/pids.max", "99\n");

        var cgroups = Read();

        Assert.Equal(2, cgroups.Version);
        Assert.Equal(99, cgroups.Pids.Max);
    }

    [Fact]
    public void NoProcFiles_ReturnsNone()
    {
        Assert.Equal(CgroupResources.None, Read());
    }

    [Fact]
    public void NoCgroupMounts_ReturnsNone()
    {
        _root.Write("/proc/self/cgroup", "0::/\n")
            .Write("/proc/self/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");

        Assert.Equal(CgroupResources.None, Read());
    }

    [Fact]
    public void MalformedValues_ReadAsNullAndLogOncePerFile()
    {
        _root.WriteVersion2Process("/")
            .Write("/sys/fs/cgroup/cpu.max", "lots 100000\n")
            .Write("/sys/fs/cgroup/cpu.weight", "heavy\n")
            .Write("/sys/fs/cgroup/cpuset.cpus.effective", "0-z\n")
            .Write("/sys/fs/cgroup/memory.max", "12.5\n")
            .Write("/sys/fs/cgroup/memory.current", "\n")
            .Write("/sys/fs/cgroup/pids.max", "unlimited\n");
        var reader = new CgroupReader(_root.Path, _logs.CreateLogger("test"));

        var first = reader.Read();
        var second = reader.Read();

        Assert.Equal(first, second);
        Assert.Equal(2, first.Version);
        Assert.Equal(CgroupResources.None.Cpu, first.Cpu);
        Assert.Null(first.Cpuset);
        Assert.Equal(CgroupResources.None.Memory, first.Memory);
        Assert.Null(first.Pids.Max);
        Assert.Equal(6, _logs.Entries.Count(entry => entry.EventId.Id == 9002));
        Assert.Contains(_logs.Entries, entry => entry.Message.Contains("'lots 100000'", StringComparison.Ordinal));
    }

    [Fact]
    public void UnreadableFile_ReadsAsNullAndLogsOnce()
    {
        // A folder where a file should be cannot be read, even by root.
        _root.WriteVersion2Process("/")
            .CreateDirectory("/sys/fs/cgroup/memory.max")
            .Write("/sys/fs/cgroup/memory.current", "4096\n");
        var reader = new CgroupReader(_root.Path, _logs.CreateLogger("test"));

        var first = reader.Read();
        reader.Read();

        Assert.Null(first.Memory.LimitBytes);
        Assert.Equal(4096, first.Memory.UsageBytes);
        var warning = Assert.Single(_logs.Entries);
        Assert.Equal(9001, warning.EventId.Id);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("memory.max", warning.Message, StringComparison.Ordinal);
    }

    /// <summary>Mounts the v1 hierarchies cpu+cpuacct, cpuset, memory, pids and name=systemd, each with <paramref name="mountRoot"/> as its root.</summary>
    private static string Version1Mounts(string mountRoot) =>
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
        "31 22 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n" +
        $"32 31 0:29 {mountRoot} /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct\n" +
        $"33 31 0:30 {mountRoot} /sys/fs/cgroup/cpuset rw shared:11 - cgroup cgroup rw,cpuset\n" +
        $"34 31 0:31 {mountRoot} /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n" +
        $"35 31 0:32 {mountRoot} /sys/fs/cgroup/pids rw shared:13 - cgroup cgroup rw,pids\n" +
        $"36 31 0:33 {mountRoot} /sys/fs/cgroup/systemd rw shared:14 - cgroup cgroup rw,xattr,name=systemd\n";

    private void WriteVersion1Process(string mountRoot) =>
        _root.Write("/proc/self/cgroup", Version1Memberships).Write("/proc/self/mountinfo", Version1Mounts(mountRoot));

    /// <summary>Writes a limited set of v1 files, with the hierarchy's folder name as {0} in <paramref name="directoryFormat"/>.</summary>
    private void WriteVersion1Limits(string directoryFormat)
    {
        WriteVersion1File(directoryFormat, "cpu,cpuacct", "cpu.cfs_quota_us", "150000");
        WriteVersion1File(directoryFormat, "cpu,cpuacct", "cpu.cfs_period_us", "100000");
        WriteVersion1File(directoryFormat, "cpu,cpuacct", "cpu.shares", "512");
        WriteVersion1File(directoryFormat, "cpuset", "cpuset.cpus", "0,2");
        WriteVersion1File(directoryFormat, "memory", "memory.limit_in_bytes", "1073741824");
        WriteVersion1File(directoryFormat, "memory", "memory.usage_in_bytes", "7340032");
        WriteVersion1File(directoryFormat, "pids", "pids.max", "256");
    }

    private void WriteVersion1File(string directoryFormat, string hierarchy, string file, string content) =>
        _root.Write(string.Format(System.Globalization.CultureInfo.InvariantCulture, directoryFormat, hierarchy) + "/" + file, content + "\n");

    private CgroupResources Read() => new CgroupReader(_root.Path, _logs.CreateLogger("test")).Read();
}

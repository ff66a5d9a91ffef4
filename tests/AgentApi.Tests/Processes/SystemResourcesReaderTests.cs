using AgentApi.Processes;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Processes;

public sealed class SystemResourcesReaderTests : IDisposable
{
    private readonly FixtureRoot _root = new();
    private readonly LogCapture _logs = new();

    public void Dispose()
    {
        _root.Dispose();
        _logs.Dispose();
    }

    [Fact]
    public void Read_FixtureTree_ReturnsAffinityAndCgroup()
    {
        _root.Write("/proc/self/status", "Name:\tdotnet\nCpus_allowed:\t0d\nCpus_allowed_list:\t0,2-3\n")
            .WriteVersion2Process("/app")
            .Write("/sys/fs/cgroup/app/cpu.max", "100000 100000\n");

        var resources = Read();

        Assert.Equal(Environment.ProcessorCount, resources.ProcessorCount);
        Assert.Equal([0, 2, 3], resources.Affinity);
        Assert.Equal(2, resources.Cgroup.Version);
        Assert.Equal(100_000, resources.Cgroup.Cpu.QuotaUs);
    }

    [Fact]
    public void Read_EmptyRoot_AffinityAndCgroupAreNull()
    {
        var resources = Read();

        Assert.Equal(Environment.ProcessorCount, resources.ProcessorCount);
        Assert.Null(resources.Affinity);
        Assert.Equal(CgroupResources.None, resources.Cgroup);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void Read_StatusWithoutAllowedList_AffinityIsNullAndLogged()
    {
        _root.Write("/proc/self/status", "Name:\tdotnet\n");

        var resources = Read();

        Assert.Null(resources.Affinity);
        Assert.Equal(9002, Assert.Single(_logs.Entries).EventId.Id);
    }

    [Fact]
    public void Read_RealRoot_AffinityMatchesProcStatus()
    {
        Assert.True(File.Exists("/proc/self/status"), "This test needs Linux's /proc/self/status.");
        var expected = CpuAffinity.ParseStatus(File.ReadAllText("/proc/self/status"));

        var resources = new SystemResourcesReader("/", _logs.CreateLogger("test")).Read();

        Assert.NotNull(expected);
        Assert.Equal(expected, resources.Affinity);
        Assert.NotEmpty(resources.Affinity!);
        Assert.Empty(_logs.Entries);
    }

    private SystemResources Read() => new SystemResourcesReader(_root.Path, _logs.CreateLogger("test")).Read();
}

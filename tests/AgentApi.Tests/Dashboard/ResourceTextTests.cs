using AgentApi.Dashboard;
using AgentApi.Processes;

namespace AgentApi.Tests.Dashboard;

public sealed class ResourceTextTests
{
    [Theory]
    [InlineData(new[] { 0 }, "0")]
    [InlineData(new[] { 0, 1, 2, 3 }, "0-3")]
    [InlineData(new[] { 6, 0, 2, 1, 3 }, "0-3, 6")]
    [InlineData(new[] { 1, 3, 5 }, "1, 3, 5")]
    public void CpuList_Cpus_WritesRanges(int[] cpus, string expected) =>
        Assert.Equal(expected, ResourceText.CpuList(cpus));

    [Fact]
    public void CpuList_NullOrEmpty_IsNotAvailable()
    {
        Assert.Equal(ResourceText.NotAvailable, ResourceText.CpuList(null));
        Assert.Equal(ResourceText.NotAvailable, ResourceText.CpuList([]));
    }

    [Fact]
    public void Bytes_Values_WritesMebibytesOrGibibytes()
    {
        Assert.Equal("512.0 MiB (536870912 bytes)", ResourceText.Bytes(536_870_912));
        Assert.Equal("2.00 GiB (2147483648 bytes)", ResourceText.Bytes(2_147_483_648));
        Assert.Equal(ResourceText.NotLimited, ResourceText.Bytes(null));
        Assert.Equal(ResourceText.NotAvailable, ResourceText.Bytes(null, ResourceText.NotAvailable));
    }

    [Fact]
    public void CpuQuota_QuotaAndPeriod_WritesCpusWorth()
    {
        Assert.Equal("50000 µs per 100000 µs (0.50 CPUs)", ResourceText.CpuQuota(new CgroupCpuResources(50_000, 100_000, null, 100)));
        Assert.Equal("50000 µs per period", ResourceText.CpuQuota(new CgroupCpuResources(50_000, null, null, null)));
        Assert.Equal(ResourceText.NotLimited, ResourceText.CpuQuota(new CgroupCpuResources(null, 100_000, 1024, null)));
    }
}

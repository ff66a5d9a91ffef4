using AgentApi.Processes;

namespace AgentApi.Tests.Processes;

public sealed class CpuAffinityTests
{
    [Theory]
    [InlineData("0-3,8,10-11", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [InlineData("0", new[] { 0 })]
    [InlineData("5", new[] { 5 })]
    [InlineData("0-1\n", new[] { 0, 1 })]
    [InlineData("4-4", new[] { 4 })]
    [InlineData("8,0-2,1", new[] { 0, 1, 2, 8 })]
    [InlineData("", new int[0])]
    [InlineData(" \n", new int[0])]
    public void TryParseList_ValidList_ReturnsSortedDistinctCpus(string text, int[] expected)
    {
        var parsed = CpuAffinity.TryParseList(text, out var cpus);

        Assert.True(parsed);
        Assert.Equal(expected, cpus);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("-1")]
    [InlineData("0-")]
    [InlineData("-3")]
    [InlineData("3-1")]
    [InlineData("1,,2")]
    [InlineData("0-1,")]
    [InlineData("1 2")]
    [InlineData("0-99999999")]
    [InlineData("0x3")]
    public void TryParseList_MalformedList_ReturnsFalse(string text)
    {
        var parsed = CpuAffinity.TryParseList(text, out var cpus);

        Assert.False(parsed);
        Assert.Empty(cpus);
    }

    [Fact]
    public void ParseStatus_StatusText_ReadsCpusAllowedList()
    {
        const string status = "Name:\tdotnet\nThreads:\t12\nCpus_allowed:\t0f\nCpus_allowed_list:\t0-2,7\nMems_allowed_list:\t0\n";

        Assert.Equal([0, 1, 2, 7], CpuAffinity.ParseStatus(status));
    }

    [Fact]
    public void ParseStatus_NoAllowedListLine_ReturnsNull()
    {
        Assert.Null(CpuAffinity.ParseStatus("Name:\tdotnet\nCpus_allowed:\t3\n"));
    }

    [Fact]
    public void ParseStatus_MalformedAllowedList_ReturnsNull()
    {
        Assert.Null(CpuAffinity.ParseStatus("Cpus_allowed_list:\t0-z\n"));
    }
}

using AgentApi.Tasks;

namespace AgentApi.Tests.Tasks;

public sealed class WireNamesTests
{
    [Theory]
    [InlineData(AgentTaskStatus.TimedOut, "timed_out")]
    [InlineData(AgentTaskStatus.Queued, "queued")]
    public void Status_UsesSnakeCase(AgentTaskStatus status, string expected)
    {
        Assert.Equal(expected, WireNames<AgentTaskStatus>.ToName(status));
        Assert.True(WireNames<AgentTaskStatus>.TryParse(expected, out var parsed));
        Assert.Equal(status, parsed);
    }

    [Fact]
    public void Coordination_ListsContractNames()
    {
        Assert.Equal(["all", "first", "as_completed", "fail_fast"], WireNames<TaskCoordination>.All);
    }

    [Theory]
    [InlineData("TimedOut")]
    [InlineData("HIGH")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParse_OtherSpellings_AreRejected(string? name)
    {
        Assert.False(WireNames<TaskPriority>.TryParse(name, out _));
    }
}

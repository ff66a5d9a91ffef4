using AgentApi.Schedules;

namespace AgentApi.Tests.Schedules;

public sealed class CatchUpPlanTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private static readonly IReadOnlyList<DateTimeOffset> FourSlots =
        [Start, Start.AddMinutes(1), Start.AddMinutes(2), Start.AddMinutes(3)];

    [Fact]
    public void For_Skip_RecordsEverySlotMissed()
    {
        var plan = CatchUpPlan.For(CatchUpPolicy.Skip, FourSlots, maxRuns: 10);

        Assert.Empty(plan.Run);
        Assert.Equal(FourSlots, plan.Missed);
    }

    [Fact]
    public void For_Once_RunsNewestOnly()
    {
        var plan = CatchUpPlan.For(CatchUpPolicy.Once, FourSlots, maxRuns: 10);

        Assert.Equal([Start.AddMinutes(3)], plan.Run);
        Assert.Equal(FourSlots.Take(3), plan.Missed);
    }

    [Fact]
    public void For_All_RunsEverySlotUpToCap()
    {
        var all = CatchUpPlan.For(CatchUpPolicy.All, FourSlots, maxRuns: 10);
        var capped = CatchUpPlan.For(CatchUpPolicy.All, FourSlots, maxRuns: 2);

        Assert.Equal(FourSlots, all.Run);
        Assert.Empty(all.Missed);
        Assert.Equal(FourSlots.Skip(2), capped.Run);
        Assert.Equal(FourSlots.Take(2), capped.Missed);
    }

    [Theory]
    [InlineData(CatchUpPolicy.Skip)]
    [InlineData(CatchUpPolicy.Once)]
    [InlineData(CatchUpPolicy.All)]
    public void For_NoMissedSlots_DoesNothing(CatchUpPolicy policy)
    {
        var plan = CatchUpPlan.For(policy, [], maxRuns: 10);

        Assert.Empty(plan.Run);
        Assert.Empty(plan.Missed);
    }
}

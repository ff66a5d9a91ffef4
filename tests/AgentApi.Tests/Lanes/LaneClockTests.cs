using AgentApi.Lanes;
using Microsoft.Extensions.Time.Testing;

namespace AgentApi.Tests.Lanes;

public sealed class LaneClockTests
{
    [Fact]
    public void SystemProvider_ReadsTickCount()
    {
        var clock = new LaneClock(TimeProvider.System);

        var before = Environment.TickCount64;
        var reading = clock.NowMilliseconds;
        var after = Environment.TickCount64;

        Assert.InRange(reading, before, after);
    }

    [Fact]
    public void FakeProvider_CountsWholeMilliseconds()
    {
        var time = new FakeTimeProvider();
        var clock = new LaneClock(time);
        var start = clock.NowMilliseconds;

        time.Advance(TimeSpan.FromMilliseconds(5) - TimeSpan.FromTicks(1));
        var justUnder = clock.NowMilliseconds;
        time.Advance(TimeSpan.FromTicks(1));
        var exactly = clock.NowMilliseconds;

        Assert.Equal(4, justUnder - start);
        Assert.Equal(5, exactly - start);
    }

    [Fact]
    public void FakeProvider_FollowsAdvances()
    {
        var time = new FakeTimeProvider();
        var clock = new LaneClock(time);
        var start = clock.NowMilliseconds;

        time.Advance(TimeSpan.FromDays(3));

        Assert.Equal((long)TimeSpan.FromDays(3).TotalMilliseconds, clock.NowMilliseconds - start);
    }
}

using AgentApi.Schedules;

namespace AgentApi.Tests.Schedules;

public sealed class CronScheduleTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("0 9 * * 1-5", "2026-12-07T09:00:00Z")]
    [InlineData("*/15 * * * *", "2026-12-04T12:15:00Z")]
    [InlineData("*/2 * * * * *", "2026-12-04T12:00:02Z")]
    [InlineData("30 0 9 * * *", "2026-12-05T09:00:30Z")]
    [InlineData("@daily", "2026-12-05T00:00:00Z")]
    [InlineData("@hourly", "2026-12-04T13:00:00Z")]
    [InlineData("@weekly", "2026-12-06T00:00:00Z")]
    [InlineData("@monthly", "2027-01-01T00:00:00Z")]
    [InlineData("@yearly", "2027-01-01T00:00:00Z")]
    [InlineData("@every_minute", "2026-12-04T12:01:00Z")]
    public void TryParse_FiveSixFieldsAndMacros_GiveNextSlot(string expression, string expected)
    {
        Assert.True(CronSchedule.TryParse(expression, out var cron, out var error), error);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), cron.NextAfter(Noon, TimeZoneInfo.Utc));
    }

    [Theory]
    [InlineData("* * *", "3 fields")]
    [InlineData("* * * * * * *", "7 fields")]
    [InlineData("61 * * * *", "Minutes")]
    [InlineData("0 0 31 13 *", "Month")]
    [InlineData("@sometimes", "Macro")]
    [InlineData("", "required")]
    [InlineData("* * * * *\0 ignored", "control characters")]
    [InlineData("@daily\n", "control characters")]
    public void TryParse_Invalid_NamesTheProblem(string expression, string expected)
    {
        Assert.False(CronSchedule.TryParse(expression, out _, out var error));

        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NextAfter_TimeZone_ReadsFieldsInThatZone()
    {
        var newYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var cron = CronSchedule.Parse("0 9 * * *");

        // 09:00 in New York in December is 14:00 UTC (EST, UTC-5).
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 14, 0, 0, TimeSpan.Zero), cron.NextAfter(Noon, newYork));
    }

    [Fact]
    public void IsSlot_SlotAndOtherTimes_TellThemApart()
    {
        var cron = CronSchedule.Parse("*/2 * * * * *");

        Assert.True(cron.IsSlot(Noon.AddSeconds(4), TimeZoneInfo.Utc));
        Assert.False(cron.IsSlot(Noon.AddSeconds(3), TimeZoneInfo.Utc));
        Assert.False(cron.IsSlot(Noon.AddMilliseconds(4500), TimeZoneInfo.Utc));
    }

    [Fact]
    public void Between_ExcludesStartIncludesEnd()
    {
        var cron = CronSchedule.Parse("*/2 * * * * *");

        var slots = cron.Between(Noon, Noon.AddSeconds(6), TimeZoneInfo.Utc).ToList();

        Assert.Equal([Noon.AddSeconds(2), Noon.AddSeconds(4), Noon.AddSeconds(6)], slots);
    }
}

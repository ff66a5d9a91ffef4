using AgentApi.Schedules;
using AgentApi.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace AgentApi.Tests.Schedules;

/// <summary>
/// The schedule maths on a fake clock. The daylight-saving cases walk the clock through the
/// whole day a minute at a time, settling slots the way the sweep does, and count the slots of
/// that day.
/// </summary>
public sealed class SlotCalendarTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    [Theory]
    // Spring forward: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist and runs at 03:00 EDT.
    [InlineData("30 2 * * *", 2026, 3, 8, "2026-03-08T07:00:00Z")]
    // Fall back: 01:00 to 02:00 happens twice, and 01:30 runs at its first occurrence, in EDT.
    [InlineData("30 1 * * *", 2026, 11, 1, "2026-11-01T05:30:00Z")]
    public void SlotsBetween_DaylightSavingDay_SlotComesExactlyOnce(string expression, int year, int month, int day, string expected)
    {
        var cron = CronSchedule.Parse(expression);
        var date = new DateOnly(year, month, day);

        var slots = WalkDays(cron, date.AddDays(-1), date.AddDays(1));

        var onTheDay = slots.Where(slot => LocalDate(slot) == date).ToList();
        Assert.Equal([DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture)], onTheDay);
        Assert.Single(slots, slot => LocalDate(slot) == date.AddDays(-1));
        Assert.Single(slots, slot => LocalDate(slot) == date.AddDays(1));
        Assert.Equal(slots.Count, slots.Distinct().Count());
    }

    [Fact]
    public void SlotsBetween_StepThroughRepeatedHour_RunsInBothHours()
    {
        var cron = CronSchedule.Parse("*/30 1 * * *");
        var date = new DateOnly(2026, 11, 1);

        var onTheDay = WalkDays(cron, date, date).Where(slot => LocalDate(slot) == date).ToList();

        // 01:00 and 01:30 in EDT (UTC-4), then again in EST (UTC-5).
        Assert.Equal(
            [
                new DateTimeOffset(2026, 11, 1, 5, 0, 0, TimeSpan.Zero),
                new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero),
                new DateTimeOffset(2026, 11, 1, 6, 0, 0, TimeSpan.Zero),
                new DateTimeOffset(2026, 11, 1, 6, 30, 0, TimeSpan.Zero),
            ],
            onTheDay);
    }

    [Fact]
    public void SlotsBetween_SettledToMissedCutoff_ExcludesSettledAndRecent()
    {
        var start = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start.AddSeconds(11));
        var calendar = new SlotCalendar(clock);
        var cron = CronSchedule.Parse("*/2 * * * * *");

        var until = calendar.MissedUntil(TimeSpan.FromSeconds(3));
        var missed = calendar.SlotsBetween(cron, TimeZoneInfo.Utc, start.AddSeconds(2), until, TimeSpan.FromDays(1), out var skipped);

        // Settled until 12:00:02 and now 12:00:11, so 12:00:04 to 12:00:08 are older than 3 s.
        Assert.Equal([start.AddSeconds(4), start.AddSeconds(6), start.AddSeconds(8)], missed);
        Assert.Equal(0, skipped);
    }

    [Fact]
    public void SlotsBetween_LongOutage_KeepsNewestWithinWindowAndCap()
    {
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var calendar = new SlotCalendar(new FakeTimeProvider(now));
        var cron = CronSchedule.Parse("* * * * * *");

        var missed = calendar.SlotsBetween(cron, TimeZoneInfo.Utc, now.AddDays(-30), now, TimeSpan.FromHours(1), out var skipped);

        Assert.Equal(SlotCalendar.MaxMissedSlots, missed.Count);
        Assert.Equal(now, missed[^1]);
        Assert.Equal(3600 - SlotCalendar.MaxMissedSlots, skipped);
    }

    [Theory]
    [InlineData(AgentTaskStatus.Running, 5, 10, true)]
    [InlineData(AgentTaskStatus.Queued, 5, 10, true)]
    [InlineData(AgentTaskStatus.Running, 15, 10, false)]
    [InlineData(AgentTaskStatus.Succeeded, 5, 10, false)]
    [InlineData(AgentTaskStatus.TimedOut, 5, 10, false)]
    public void Blocks_UnfinishedBeforeDeadlineOnly(AgentTaskStatus status, int ageSeconds, int timeoutSeconds, bool blocks)
    {
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var calendar = new SlotCalendar(new FakeTimeProvider(now));

        Assert.Equal(blocks, calendar.Blocks(status, now.AddSeconds(-ageSeconds), timeoutSeconds));
    }

    [Fact]
    public void IsLate_ComparesAgeWithMissedAfter()
    {
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var calendar = new SlotCalendar(new FakeTimeProvider(now));

        Assert.True(calendar.IsLate(now.AddMinutes(-3), TimeSpan.FromMinutes(2)));
        Assert.False(calendar.IsLate(now.AddMinutes(-1), TimeSpan.FromMinutes(2)));
    }

    /// <summary>Settles slots from the start of <paramref name="first"/> to the end of <paramref name="last"/> (New York days), a minute at a time.</summary>
    private static List<DateTimeOffset> WalkDays(CronSchedule cron, DateOnly first, DateOnly last)
    {
        var start = LocalMidnight(first);
        var end = LocalMidnight(last.AddDays(1));
        var clock = new FakeTimeProvider(start);
        var calendar = new SlotCalendar(clock);
        var settledUntil = start;
        var slots = new List<DateTimeOffset>();

        while (clock.GetUtcNow() < end)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            var until = calendar.MissedUntil(TimeSpan.Zero);
            slots.AddRange(calendar.SlotsBetween(cron, NewYork, settledUntil, until, TimeSpan.FromDays(1), out _));
            settledUntil = until;
        }

        return slots;
    }

    private static DateTimeOffset LocalMidnight(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, NewYork), TimeSpan.Zero);
    }

    private static DateOnly LocalDate(DateTimeOffset instant) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, NewYork).DateTime);
}

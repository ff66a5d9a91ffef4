using System.Globalization;

namespace AgentApi.Heartbeat;

/// <summary>
/// A daily window in a time zone: <see cref="Start"/> included, <see cref="End"/> excluded. A
/// window whose end is before its start wraps past midnight (22:00–06:00); equal ends mean the
/// whole day.
/// </summary>
public sealed record ActiveHours(TimeOnly Start, TimeOnly End, TimeZoneInfo TimeZone)
{
    public const string TimeFormat = "HH:mm";

    public static bool TryParseTime(string? text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out time);

    public bool Contains(DateTimeOffset instant)
    {
        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, TimeZone).DateTime);
        if (Start == End)
        {
            return true;
        }

        return Start < End
            ? local >= Start && local < End
            : local >= Start || local < End;
    }

    /// <summary>
    /// Returns the first instant after <paramref name="instant"/> at which the window opens. A start
    /// that falls in a daylight-saving gap opens at the first valid local time after the gap.
    /// </summary>
    public DateTimeOffset NextStart(DateTimeOffset instant)
    {
        var localDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, TimeZone).DateTime);
        for (var day = 0; day < 3; day++)
        {
            var candidate = ToInstant(localDate.AddDays(day).ToDateTime(Start));
            if (candidate > instant)
            {
                return candidate;
            }
        }

        // Not reached: one of three consecutive days always has its start after the instant.
        return instant;
    }

    private DateTimeOffset ToInstant(DateTime local)
    {
        while (TimeZone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        // An ambiguous time (the hour repeated when clocks go back) opens at its first occurrence.
        var offset = TimeZone.IsAmbiguousTime(local) ? TimeZone.GetAmbiguousTimeOffsets(local).Max() : TimeZone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace AgentApi.Heartbeat;

/// <summary>
/// Durations as the heartbeat API writes them: one or more whole numbers with a unit, largest
/// first, such as <c>30m</c>, <c>1h30m</c> or <c>45s</c> (units <c>d</c>, <c>h</c>, <c>m</c>,
/// <c>s</c>), an ISO 8601 duration such as <c>PT30M</c>, or <c>0</c>.
/// </summary>
public static partial class HeartbeatDuration
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text == "0")
        {
            return true;
        }

        if (text.StartsWith('P') || text.StartsWith('p'))
        {
            try
            {
                duration = System.Xml.XmlConvert.ToTimeSpan(text.ToUpperInvariant());
                return duration >= TimeSpan.Zero;
            }
            catch (FormatException)
            {
                return false;
            }
        }

        var match = ShortForm().Match(text);
        if (!match.Success)
        {
            return false;
        }

        try
        {
            duration = TimeSpan.FromDays(Part(match, "d"))
                + TimeSpan.FromHours(Part(match, "h"))
                + TimeSpan.FromMinutes(Part(match, "m"))
                + TimeSpan.FromSeconds(Part(match, "s"));
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>Writes <paramref name="duration"/> in the short form, such as <c>1h30m</c>, or <c>0</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0";
        }

        var text = string.Empty;
        if (duration.Days > 0)
        {
            text += duration.Days.ToString(CultureInfo.InvariantCulture) + "d";
        }

        if (duration.Hours > 0)
        {
            text += duration.Hours.ToString(CultureInfo.InvariantCulture) + "h";
        }

        if (duration.Minutes > 0)
        {
            text += duration.Minutes.ToString(CultureInfo.InvariantCulture) + "m";
        }

        if (duration.Seconds > 0 || text.Length == 0)
        {
            text += duration.Seconds.ToString(CultureInfo.InvariantCulture) + "s";
        }

        return text;
    }

    private static long Part(Match match, string unit) =>
        match.Groups[unit].Success ? long.Parse(match.Groups[unit].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"\A(?=\d)(?:(?<d>\d{1,5})d)?(?:(?<h>\d{1,6})h)?(?:(?<m>\d{1,8})m)?(?:(?<s>\d{1,10})s)?\z")]
    private static partial Regex ShortForm();
}

using System.Diagnostics.CodeAnalysis;
using AgentApi.Errors;
using Cronos;

namespace AgentApi.Schedules;

/// <summary>
/// A cron expression read the way Hangfire 1.8 reads it: 5 fields, 6 fields when the first is
/// seconds, or a macro such as <c>@daily</c>, evaluated with Cronos in a time zone. Hangfire
/// carries the same Cronos version inside it, so the slots computed here are the ones Hangfire
/// fires.
/// </summary>
/// <remarks>
/// Daylight-saving changes follow Cronos: a local time that a spring change skips runs once, at
/// the first instant after the gap (02:30 becomes 03:00), and a local time that an autumn change
/// repeats runs once, at its first occurrence. Expressions that step through the hours, such as
/// <c>*/30 * * * *</c>, run in both repeated hours.
/// </remarks>
public sealed class CronSchedule
{
    private static readonly char[] FieldSeparators = [' ', '\t'];

    private readonly CronExpression _expression;

    private CronSchedule(string text, CronExpression expression)
    {
        Text = text;
        _expression = expression;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>, or returns false with a message that describes the problem.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out CronSchedule? schedule, [NotNullWhen(false)] out string? error)
    {
        schedule = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A cron expression is required: 5 fields, 6 with seconds first, or a macro such as '@daily'.";
            return false;
        }

        // Cronos 0.11.1 accepts '* * * * *' followed by a NUL, which PostgreSQL cannot store in a text
        // column, so the request would fail after validation instead of getting a 400.
        if (text.Any(c => char.IsControl(c) && c != '\t'))
        {
            error = $"'{MessageText.Quote(text)}' contains control characters; only spaces and tabs may separate the fields.";
            return false;
        }

        var format = CronFormat.Standard;
        if (!text.StartsWith('@'))
        {
            var fields = text.Split(FieldSeparators, StringSplitOptions.RemoveEmptyEntries).Length;
            if (fields == 6)
            {
                format |= CronFormat.IncludeSeconds;
            }
            else if (fields != 5)
            {
                error = $"'{text}' has {fields} fields; use 5 (minute hour day month weekday), 6 with seconds first, or a macro such as '@daily'.";
                return false;
            }
        }

        try
        {
            schedule = new CronSchedule(text, CronExpression.Parse(text, format));
            error = null;
            return true;
        }
        catch (CronFormatException exception)
        {
            error = $"'{text}' is not a valid cron expression: {exception.Message}";
            return false;
        }
    }

    public static CronSchedule Parse(string text) =>
        TryParse(text, out var schedule, out var error) ? schedule : throw new FormatException(error);

    /// <summary>The first slot after <paramref name="after"/>, or null when there is none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo timeZone) =>
        _expression.GetNextOccurrence(after.UtcDateTime, timeZone, inclusive: false) is { } next
            ? new DateTimeOffset(next, TimeSpan.Zero)
            : null;

    /// <summary>The slots after <paramref name="after"/> and at or before <paramref name="until"/>, oldest first.</summary>
    public IEnumerable<DateTimeOffset> Between(DateTimeOffset after, DateTimeOffset until, TimeZoneInfo timeZone)
    {
        if (until <= after)
        {
            return [];
        }

        return _expression
            .GetOccurrences(after.UtcDateTime, until.UtcDateTime, timeZone, fromInclusive: false, toInclusive: true)
            .Select(occurrence => new DateTimeOffset(occurrence, TimeSpan.Zero));
    }

    /// <summary>Returns whether <paramref name="instant"/> is exactly one of the slots.</summary>
    public bool IsSlot(DateTimeOffset instant, TimeZoneInfo timeZone) =>
        _expression.GetNextOccurrence(instant.UtcDateTime, timeZone, inclusive: true) == instant.UtcDateTime;
}

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using AgentApi.Errors;
using AgentApi.Tasks;

namespace AgentApi.Schedules;

/// <summary>
/// Checks a schedule request field by field. The task body is checked by
/// <see cref="TaskSubmissionValidator"/> as each run will submit it, and its problems are
/// reported under <c>task.&lt;field&gt;</c>. Nothing is stored when there is any problem.
/// </summary>
public sealed partial class ScheduleValidator(TaskSubmissionValidator taskValidator, TimeProvider timeProvider)
{
    private const string AtExample = "2026-12-24T18:00:00+01:00";

    public Dictionary<string, string[]> Validate(
        ScheduleRequest request,
        string? routeId,
        [NotNullWhen(true)] out ScheduleDefinition? definition)
    {
        definition = null;
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);

        var id = ValidateId(errors, request.Id, routeId);
        var cron = ValidateTiming(errors, request, out var at);
        var timeZone = ValidateTimeZone(errors, request.TimeZone, required: request.Cron is not null);
        var overlap = ParseChoice(errors, "overlap", request.Overlap, OverlapPolicy.Skip);
        var catchUp = ParseChoice(errors, "catchUp", request.CatchUp, CatchUpPolicy.Skip);
        var webhookUrlValid = ValidateWebhookUrl(errors, request.WebhookUrl);
        ValidateTask(errors, request.Task, id ?? "schedule", webhookUrlValid ? request.WebhookUrl : null);

        if (errors.Count > 0)
        {
            return errors.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal);
        }

        definition = new ScheduleDefinition(
            id!,
            cron,
            at,
            timeZone ?? TimeZoneInfo.Utc,
            request.Task!,
            request.Enabled ?? true,
            overlap,
            catchUp,
            request.WebhookUrl);
        return [];
    }

    /// <summary>Returns whether <paramref name="id"/> can name a schedule.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    private static string? ValidateId(Dictionary<string, List<string>> errors, string? bodyId, string? routeId)
    {
        if (routeId is not null && bodyId is not null && !string.Equals(bodyId, routeId, StringComparison.Ordinal))
        {
            Add(errors, "id", $"Must match the id in the URL, '{MessageText.Quote(routeId)}'; got '{MessageText.Quote(bodyId)}'. Leave it out or send the same id.");
            return null;
        }

        var id = routeId ?? bodyId;
        if (id is null)
        {
            Add(errors, "id", "Required: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
            return null;
        }

        if (!IsValidId(id))
        {
            Add(errors, "id", $"'{MessageText.Quote(id)}' is not allowed; use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
            return null;
        }

        return id;
    }

    private CronSchedule? ValidateTiming(Dictionary<string, List<string>> errors, ScheduleRequest request, out DateTimeOffset? at)
    {
        at = null;
        if (request.Cron is not null && request.At is not null)
        {
            Add(errors, "cron", "Give either 'cron' for a recurring schedule or 'at' for a one-shot one, not both.");
            return null;
        }

        if (request.Cron is null && request.At is null)
        {
            Add(errors, "cron", "Required: 'cron' (with 'timeZone') for a recurring schedule, or 'at' for a one-shot one.");
            return null;
        }

        if (request.Cron is not null)
        {
            if (CronSchedule.TryParse(request.Cron, out var cron, out var error))
            {
                return cron;
            }

            Add(errors, "cron", error);
            return null;
        }

        var text = request.At!;
        if (!OffsetPattern().IsMatch(text)
            || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            Add(errors, "at", $"'{MessageText.Quote(text)}' is not an ISO 8601 time with an offset, such as '{AtExample}' or '2026-12-24T17:00:00Z'.");
            return null;
        }

        var now = timeProvider.GetUtcNow();
        if (parsed <= now)
        {
            Add(errors, "at", $"'{MessageText.Quote(text)}' is not in the future (it is now {now:O}); give a later time.");
            return null;
        }

        // Kept to the millisecond, as every stored time is, so that each read shows the same instant.
        var utc = parsed.ToUniversalTime();
        at = new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        return null;
    }

    private static TimeZoneInfo? ValidateTimeZone(Dictionary<string, List<string>> errors, string? id, bool required)
    {
        if (id is null)
        {
            if (required)
            {
                Add(errors, "timeZone", "Required with 'cron': an IANA time zone id such as 'Europe/Berlin' or 'UTC'.");
            }

            return null;
        }

        // Windows ids such as 'Eastern Standard Time' resolve too, but without an IANA id.
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(id, out var timeZone) || !timeZone.HasIanaId)
        {
            Add(errors, "timeZone", $"'{MessageText.Quote(id)}' is not a known IANA time zone id; use one such as 'America/New_York', 'Europe/Berlin' or 'UTC'.");
            return null;
        }

        return timeZone;
    }

    private bool ValidateWebhookUrl(Dictionary<string, List<string>> errors, string? url)
    {
        if (url is null)
        {
            return true;
        }

        // The URL rules live in the task validator; a minimal body with only the URL reuses them.
        var probe = taskValidator.Validate(new SubmitTaskRequest { Input = "webhook check", WebhookUrl = url });
        if (probe.TryGetValue("webhookUrl", out var messages))
        {
            foreach (var message in messages)
            {
                Add(errors, "webhookUrl", message);
            }

            return false;
        }

        return true;
    }

    private void ValidateTask(Dictionary<string, List<string>> errors, SubmitTaskRequest? task, string scheduleId, string? webhookUrl)
    {
        if (task is null)
        {
            Add(errors, "task", "Required: the task body each run submits, as for POST /api/tasks, such as { \"input\": \"Summarise the news\" }.");
            return;
        }

        if (task.Metadata?.ContainsKey(ScheduleTasks.MetadataKey) == true)
        {
            Add(errors, "task.metadata", $"The key '{ScheduleTasks.MetadataKey}' is reserved: each run's task stores its schedule id and slot there.");
            return;
        }

        // Checked as the first run will submit it, with the lane, name, session key and metadata
        // tag each run adds. A later run fails only if an agent or lane it names is removed.
        var run = ScheduleTasks.BuildRun(
            scheduleId,
            ScheduleTasks.Serialize(task),
            webhookUrl,
            Guid.Empty,
            timeProvider.GetUtcNow(),
            ScheduleRunTrigger.Schedule);

        foreach (var (field, messages) in taskValidator.Validate(run))
        {
            foreach (var message in messages)
            {
                Add(errors, $"task.{field}", message);
            }
        }

        if (TaskSubmissionValidator.Forbidden(run) is { } forbidden)
        {
            Add(errors, "task.sessionKey", forbidden);
        }
    }

    private static TEnum ParseChoice<TEnum>(Dictionary<string, List<string>> errors, string field, string? value, TEnum fallback)
        where TEnum : struct, Enum
    {
        if (value is null)
        {
            return fallback;
        }

        if (WireNames<TEnum>.TryParse(value, out var parsed))
        {
            return parsed;
        }

        Add(errors, field, $"'{MessageText.Quote(value)}' is not allowed; use one of {string.Join(", ", WireNames<TEnum>.All)}.");
        return fallback;
    }

    private static void Add(Dictionary<string, List<string>> errors, string field, string message)
    {
        if (!errors.TryGetValue(field, out var messages))
        {
            messages = [];
            errors[field] = messages;
        }

        messages.Add(message);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();

    /// <summary>An ISO 8601 date and time that ends in <c>Z</c> or a numeric offset.</summary>
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.IgnoreCase)]
    private static partial Regex OffsetPattern();
}

using System.Text.Json;
using AgentApi.Tasks;

namespace AgentApi.Schedules;

/// <summary>
/// The body of <c>POST /api/schedules</c> and <c>PUT /api/schedules/{id}</c>. Give either
/// <c>cron</c> with <c>timeZone</c>, or <c>at</c>; <c>task</c> is always required.
/// </summary>
public sealed class ScheduleRequest
{
    /// <summary>1 to 64 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>. Required by <c>POST</c>; for <c>PUT</c> the URL gives it.</summary>
    public string? Id { get; set; }

    /// <summary>5 fields (minute hour day month weekday), 6 with seconds first, or a macro such as <c>@daily</c>.</summary>
    public string? Cron { get; set; }

    /// <summary>For a one-shot schedule: an ISO 8601 time with an offset, such as <c>2026-12-24T18:00:00+01:00</c>, in the future.</summary>
    public string? At { get; set; }

    /// <summary>An IANA time zone id such as <c>Europe/Berlin</c> or <c>UTC</c>; required with <c>cron</c>.</summary>
    public string? TimeZone { get; set; }

    /// <summary>The task each run submits, as for <c>POST /api/tasks</c>. Its lane defaults to <c>cron</c>.</summary>
    public SubmitTaskRequest? Task { get; set; }

    /// <summary>Defaults to true.</summary>
    public bool? Enabled { get; set; }

    /// <summary><c>skip</c> (the default) or <c>allow</c>.</summary>
    public string? Overlap { get; set; }

    /// <summary><c>skip</c> (the default), <c>once</c> or <c>all</c>.</summary>
    public string? CatchUp { get; set; }

    /// <summary>An http or https URL set on the task of every run.</summary>
    public string? WebhookUrl { get; set; }
}

/// <summary>A schedule as returned by the API.</summary>
public sealed record ScheduleResponse(
    string Id,
    string? Cron,
    DateTimeOffset? At,
    string TimeZone,
    JsonElement Task,
    bool Enabled,
    string Overlap,
    string CatchUp,
    string? WebhookUrl,
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    string? HangfireJobId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>One run of a schedule: a slot that ran, was skipped or was missed, or a manual trigger.</summary>
public sealed record ScheduleRunResponse(
    Guid Id,
    DateTimeOffset ScheduledAt,
    DateTimeOffset? StartedAt,
    string Outcome,
    string Trigger,
    Guid? TaskId,
    string? TaskStatus);

/// <summary>The response body of <c>POST /api/schedules/{id}/trigger</c>.</summary>
public sealed record ScheduleTriggerResponse(Guid TaskId, Guid RunId);

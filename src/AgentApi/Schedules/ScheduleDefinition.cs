using AgentApi.Tasks;

namespace AgentApi.Schedules;

/// <summary>A schedule request that passed validation, with its values parsed.</summary>
public sealed record ScheduleDefinition(
    string Id,
    CronSchedule? Cron,
    DateTimeOffset? At,
    TimeZoneInfo TimeZone,
    SubmitTaskRequest Task,
    bool Enabled,
    OverlapPolicy Overlap,
    CatchUpPolicy CatchUp,
    string? WebhookUrl);

namespace AgentApi.Schedules;

/// <summary>
/// A stored schedule: a task body run at each slot of a cron expression, or once at a given
/// time. Hangfire has the matching recurring job (or scheduled job), and this row is the
/// source of truth for everything else.
/// </summary>
public sealed class Schedule
{
    /// <summary>The client's own id, also part of the Hangfire recurring job id <c>schedule:&lt;id&gt;</c>.</summary>
    public required string Id { get; set; }

    /// <summary>A 5- or 6-field cron expression or a macro such as <c>@daily</c>; null for a one-shot schedule.</summary>
    public string? Cron { get; set; }

    /// <summary>The time of a one-shot schedule's only run, in UTC; null for a cron schedule.</summary>
    public DateTimeOffset? At { get; set; }

    /// <summary>The IANA time zone id the cron expression is read in; <c>UTC</c> for a one-shot schedule without one.</summary>
    public required string TimeZone { get; set; }

    /// <summary>The task submission body each run sends, as JSON.</summary>
    public required string TaskJson { get; set; }

    public bool Enabled { get; set; }

    public OverlapPolicy Overlap { get; set; }

    public CatchUpPolicy CatchUp { get; set; }

    /// <summary>Copied into the task of every run; it wins over the task body's own <c>webhookUrl</c>.</summary>
    public string? WebhookUrl { get; set; }

    /// <summary>The Hangfire job of a one-shot schedule's run; null for a cron schedule.</summary>
    public string? HangfireJobId { get; set; }

    /// <summary>
    /// Every slot at or before this instant is settled: it has a run row, or it came before the
    /// schedule was created, enabled or last given a new cron expression or time zone. The sweep
    /// looks for missed slots only after it.
    /// </summary>
    public DateTimeOffset SettledUntil { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

namespace AgentApi.Schedules;

/// <summary>
/// One slot of a schedule and what became of it, or one manual trigger. A slot has at most one
/// row: the unique key on (schedule id, scheduled time) for non-manual rows is what makes a slot
/// run once, across instances and restarts.
/// </summary>
public sealed class ScheduleRun
{
    public Guid Id { get; set; }

    public required string ScheduleId { get; set; }

    /// <summary>The slot's time in UTC, or the time of a manual trigger.</summary>
    public DateTimeOffset ScheduledAt { get; set; }

    public ScheduleRunTrigger Trigger { get; set; }

    public ScheduleRunOutcome Outcome { get; set; }

    /// <summary>The task the run submitted; null when nothing ran.</summary>
    public Guid? TaskId { get; set; }

    /// <summary>When the run submitted its task; null when nothing ran.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>The Hangfire job that delivered the run, so that a job delivered twice runs once.</summary>
    public string? HangfireJobId { get; set; }

    public DateTimeOffset RecordedAt { get; set; }
}

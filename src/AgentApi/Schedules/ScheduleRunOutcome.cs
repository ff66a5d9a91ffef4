namespace AgentApi.Schedules;

/// <summary>What became of one slot; the wire names are <c>ran</c>, <c>skipped_overlap</c> and <c>missed</c>.</summary>
public enum ScheduleRunOutcome
{
    /// <summary>A task was submitted for the slot.</summary>
    Ran,

    /// <summary>The overlap policy is <c>skip</c> and an earlier run was still unfinished before its deadline.</summary>
    SkippedOverlap,

    /// <summary>No instance ran the slot in time, and the catch-up policy did not run it later.</summary>
    Missed,
}

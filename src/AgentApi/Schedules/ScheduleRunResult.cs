namespace AgentApi.Schedules;

/// <summary>
/// What a manual trigger did: the run it recorded, or why it recorded none (an agent or lane
/// named by the task body no longer exists, or the schedule was deleted meanwhile).
/// </summary>
public sealed record ScheduleRunResult(ScheduleRun? Run, string? Problem);

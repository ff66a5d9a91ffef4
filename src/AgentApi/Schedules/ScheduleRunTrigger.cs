namespace AgentApi.Schedules;

/// <summary>What started a run: <c>schedule</c>, <c>catch_up</c> or <c>manual</c>.</summary>
public enum ScheduleRunTrigger
{
    /// <summary>The slot came due and Hangfire delivered it.</summary>
    Schedule,

    /// <summary>The slot was found missed later and the catch-up policy decided its fate.</summary>
    CatchUp,

    /// <summary>A trigger through the API or the Hangfire dashboard; it is not a slot.</summary>
    Manual,
}

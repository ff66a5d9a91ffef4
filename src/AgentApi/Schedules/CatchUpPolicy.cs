namespace AgentApi.Schedules;

/// <summary>What happens to missed slots: <c>skip</c> (the default), <c>once</c> or <c>all</c>.</summary>
public enum CatchUpPolicy
{
    /// <summary>Record every missed slot as <c>missed</c>.</summary>
    Skip,

    /// <summary>Run the newest missed slot and record the others as <c>missed</c>.</summary>
    Once,

    /// <summary>Run every missed slot, newest first, up to <c>Schedules:MaxCatchUpRuns</c>.</summary>
    All,
}

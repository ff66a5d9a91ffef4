namespace AgentApi.Dashboard;

/// <summary>Tasks started and finished per minute, oldest minute first; the last minute is the current one.</summary>
public sealed record TaskActivity(IReadOnlyList<ActivityMinute> Minutes)
{
    public int TotalStarted => Minutes.Sum(minute => minute.Started);

    public int TotalFinished => Minutes.Sum(minute => minute.Finished);

    /// <summary>The largest count of one minute, at least 1, which is the top of the chart's scale.</summary>
    public int ScaleMax => Math.Max(1, Minutes.Max(minute => Math.Max(minute.Started, minute.Finished)));
}

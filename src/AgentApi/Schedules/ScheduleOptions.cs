namespace AgentApi.Schedules;

/// <summary>Settings under <c>Schedules</c>.</summary>
public sealed class ScheduleOptions
{
    public const string SectionName = "Schedules";

    public static readonly TimeSpan DefaultMissedAfter = TimeSpan.FromMinutes(2);
    public static readonly TimeSpan DefaultSweepInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultCatchUpWindow = TimeSpan.FromDays(7);
    public const int DefaultMaxCatchUpRuns = 10;

    /// <summary>
    /// How old a slot without a row must be before a running instance records it as missed.
    /// Defaults to 2 minutes. Keep it above the time a slot's Hangfire job can take to start,
    /// which is about a second, or up to a minute when the worker that took it died. A job that
    /// arrives after its slot was recorded as missed does nothing.
    /// </summary>
    public TimeSpan MissedAfter { get; set; } = DefaultMissedAfter;

    /// <summary>How often each instance looks for missed slots. Defaults to 30 seconds; the first look is at start-up.</summary>
    public TimeSpan SweepInterval { get; set; } = DefaultSweepInterval;

    /// <summary>How far back missed slots are looked for after a long stop. Defaults to 7 days; older slots are neither run nor recorded.</summary>
    public TimeSpan CatchUpWindow { get; set; } = DefaultCatchUpWindow;

    /// <summary>Most missed slots one schedule with catch-up <c>all</c> runs at once, the newest ones. Defaults to 10.</summary>
    public int MaxCatchUpRuns { get; set; } = DefaultMaxCatchUpRuns;

    /// <summary>Maximum number of schedules the service keeps. Defaults to 1,000; creating one more gets 409.</summary>
    public int MaxCount { get; set; } = DefaultMaxCount;

    public const int DefaultMaxCount = 1_000;
}

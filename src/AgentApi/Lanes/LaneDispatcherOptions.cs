namespace AgentApi.Lanes;

/// <summary>Settings under <c>Dispatcher</c>.</summary>
public sealed class LaneDispatcherOptions
{
    public const string SectionName = "Dispatcher";

    /// <summary>
    /// Waiting time after which work moves up one priority level, and one more per further
    /// interval, so low work is never starved. Defaults to 30 seconds.
    /// </summary>
    public TimeSpan AgeingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Waiting time after which an item is logged once with what runs ahead of it. Defaults to 2 seconds.</summary>
    public TimeSpan WaitLogThreshold { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long running work may go on after shutdown starts before it is cancelled. Defaults to 30 seconds.</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(30);
}

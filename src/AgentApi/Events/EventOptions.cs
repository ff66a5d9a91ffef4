namespace AgentApi.Events;

/// <summary>Settings of live event delivery, under <c>Events</c>.</summary>
public sealed class EventOptions
{
    public const string SectionName = "Events";

    /// <summary>How often a lane whose numbers changed is sent to dashboards. Defaults to 250 ms.</summary>
    public TimeSpan LaneUpdateInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Events the dashboard broadcast may fall behind by before it drops new ones (and logs how
    /// many). Defaults to 65,536.
    /// </summary>
    public int BroadcastBufferSize { get; set; } = 65_536;

    /// <summary>
    /// Shortest time between two <c>output</c> events of one task: model output that arrives
    /// sooner is sent with the next one. Defaults to 50 ms, about 20 events a second.
    /// </summary>
    public TimeSpan OutputInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// PostgreSQL only: whether events are passed to other instances that share the database,
    /// through LISTEN/NOTIFY. Defaults to true.
    /// </summary>
    public bool RelayEnabled { get; set; } = true;

    /// <summary>Events the relay to other instances may fall behind by before it drops new ones. Defaults to 65,536.</summary>
    public int RelayBufferSize { get; set; } = 65_536;
}

namespace AgentApi.Events;

/// <summary>Settings of live event delivery, under <c>Events</c>.</summary>
public sealed class EventOptions
{
    public const string SectionName = "Events";

    /// <summary>The shortest <see cref="BatchInterval"/> allowed.</summary>
    public static readonly TimeSpan MinBatchInterval = TimeSpan.FromMilliseconds(1);

    /// <summary>The longest <see cref="BatchInterval"/> allowed.</summary>
    public static readonly TimeSpan MaxBatchInterval = TimeSpan.FromSeconds(1);

    /// <summary>The shortest <see cref="SlowClientTimeout"/> allowed.</summary>
    public static readonly TimeSpan MinSlowClientTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest <see cref="SlowClientTimeout"/> allowed.</summary>
    public static readonly TimeSpan MaxSlowClientTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The largest <see cref="MaxBatchSize"/> allowed.</summary>
    public const int MaxBatchSizeLimit = 10_000;

    /// <summary>How often a lane whose numbers changed is sent to dashboards. Defaults to 250 ms.</summary>
    public TimeSpan LaneUpdateInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Events the dashboard broadcast may fall behind by before it drops new ones (and logs how
    /// many). Defaults to 65,536.
    /// </summary>
    public int BroadcastBufferSize { get; set; } = 65_536;

    /// <summary>
    /// Maximum time an event waits in a <c>taskEvents</c> batch for <c>SubscribeAllBatched</c>
    /// clients. A batch is sent this long after its first event, or sooner once it contains
    /// <see cref="MaxBatchSize"/> events. From 1 ms to 1 s; defaults to 20 ms.
    /// </summary>
    public TimeSpan BatchInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The maximum number of events in one <c>taskEvents</c> batch, from 1 to 10,000. Defaults to 500.</summary>
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>
    /// Shortest time between two <c>output</c> events of one task: model output that arrives
    /// sooner is sent with the next one. Defaults to 50 ms, about 20 events a second.
    /// </summary>
    public TimeSpan OutputInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long a message to a <c>SubscribeAll</c> or <c>SubscribeAllBatched</c> connection may
    /// wait behind the ones before it. A connection whose oldest waiting message is older is
    /// closed, so a client that stops reading holds up no other client and no memory. From 100 ms
    /// to 10 minutes; defaults to 10 s.
    /// </summary>
    public TimeSpan SlowClientTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// PostgreSQL only: whether events are passed to other instances that share the database,
    /// through LISTEN/NOTIFY. Defaults to true.
    /// </summary>
    public bool RelayEnabled { get; set; } = true;

    /// <summary>Events the relay to other instances may fall behind by before it drops new ones. Defaults to 65,536.</summary>
    public int RelayBufferSize { get; set; } = 65_536;
}

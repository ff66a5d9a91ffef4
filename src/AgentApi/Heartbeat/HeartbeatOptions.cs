namespace AgentApi.Heartbeat;

/// <summary>Settings of the heartbeat loop, under <c>Heartbeat</c>; the heartbeat itself is set through the API.</summary>
public sealed class HeartbeatOptions
{
    public const string SectionName = "Heartbeat";

    /// <summary>
    /// Maximum time the loop sleeps before it reads the heartbeat again, so that a change made
    /// through another instance takes effect. Defaults to 5 seconds.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);
}

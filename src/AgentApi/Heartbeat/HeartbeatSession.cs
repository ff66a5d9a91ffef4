namespace AgentApi.Heartbeat;

/// <summary>
/// The session the heartbeat runs in, as this instance last read it, so that task submission can
/// tell cheaply whether user work arrived for it.
/// </summary>
public sealed class HeartbeatSession
{
    private volatile string? _sessionKey;
    private volatile bool _beatsMayBeUnfinished = true;

    public string? SessionKey => _sessionKey;

    /// <summary>
    /// Whether a beat of the session may be queued or running. It is false once this instance has
    /// read that none is, until it submits a beat itself. A beat that another instance submits
    /// meanwhile shows up at this instance's next read, within <c>Heartbeat:PollInterval</c>.
    /// </summary>
    public bool BeatsMayBeUnfinished => _beatsMayBeUnfinished;

    internal void Set(string? sessionKey) => _sessionKey = sessionKey;

    internal void SetBeatsMayBeUnfinished(bool value) => _beatsMayBeUnfinished = value;
}

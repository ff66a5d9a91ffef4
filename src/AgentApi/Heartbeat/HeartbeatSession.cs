namespace AgentApi.Heartbeat;

/// <summary>
/// The session the heartbeat runs in, as this instance last read it, so that task submission can
/// tell cheaply whether user work arrived for it.
/// </summary>
public sealed class HeartbeatSession
{
    private volatile string? _sessionKey;

    public string? SessionKey => _sessionKey;

    internal void Set(string? sessionKey) => _sessionKey = sessionKey;
}

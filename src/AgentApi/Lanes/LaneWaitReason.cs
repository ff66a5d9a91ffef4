namespace AgentApi.Lanes;

/// <summary>Why the oldest waiting item of a lane has not started.</summary>
public enum LaneWaitReason
{
    /// <summary>Every slot of the lane is taken.</summary>
    LaneFull,

    /// <summary>Earlier work with the same session key is still waiting or running.</summary>
    SessionBusy,

    /// <summary>The lane's limit is 0.</summary>
    Paused,

    /// <summary>Running work occupies the lane's slots while it waits for a model provider's rate limit.</summary>
    RateLimited,
}

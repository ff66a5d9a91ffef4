namespace AgentApi.Lanes;

/// <summary>A lane's state at one moment.</summary>
/// <param name="Name">The lane.</param>
/// <param name="MaxConcurrent">Items that may run at once; 0 is paused.</param>
/// <param name="Active">Items running now.</param>
/// <param name="Queued">Items waiting.</param>
/// <param name="Completed">Items that ran and succeeded since start-up.</param>
/// <param name="Failed">Items that ran and failed since start-up.</param>
/// <param name="WaitP50Ms">Median wait of the most recent starts, in milliseconds.</param>
/// <param name="WaitP95Ms">95th percentile wait of the most recent starts, in milliseconds.</param>
/// <param name="OldestWaitReason">Why the oldest waiting item waits; null when nothing waits.</param>
/// <param name="OldestWaitMs">How long the oldest waiting item has waited, in milliseconds.</param>
public sealed record LaneSnapshot(
    string Name,
    int MaxConcurrent,
    int Active,
    int Queued,
    long Completed,
    long Failed,
    double WaitP50Ms,
    double WaitP95Ms,
    LaneWaitReason? OldestWaitReason,
    double? OldestWaitMs)
{
    /// <summary>Running items that wait for a model's rate limit permit.</summary>
    public int RateLimited { get; init; }
}

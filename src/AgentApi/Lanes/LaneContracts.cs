using System.Text.Json;

namespace AgentApi.Lanes;

/// <summary>The body of <c>PUT /api/lanes/{name}</c>.</summary>
public sealed class UpdateLaneRequest
{
    public const int MaxLimit = 10_000;

    /// <summary>Items that may run at once, from 0 (paused) to 10,000.</summary>
    public int? MaxConcurrent { get; set; }
}

public sealed record LaneWaitResponse(double P50, double P95);

/// <summary>A lane as returned by the API.</summary>
public sealed record LaneResponse(
    string Name,
    int MaxConcurrent,
    int Active,
    int Queued,
    long Completed,
    long Failed,
    LaneWaitResponse WaitMs,
    string? WaitReason,
    double? OldestWaitMs,
    int RateLimited)
{
    public static LaneResponse From(LaneSnapshot snapshot) => new(
        snapshot.Name,
        snapshot.MaxConcurrent,
        snapshot.Active,
        snapshot.Queued,
        snapshot.Completed,
        snapshot.Failed,
        new LaneWaitResponse(Math.Round(snapshot.WaitP50Ms, 2), Math.Round(snapshot.WaitP95Ms, 2)),
        snapshot.OldestWaitReason is { } reason ? JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString()) : null,
        snapshot.OldestWaitMs is { } wait ? Math.Round(wait, 2) : null,
        snapshot.RateLimited);
}

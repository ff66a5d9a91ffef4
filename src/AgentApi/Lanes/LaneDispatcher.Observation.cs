using System.Text.Json;

namespace AgentApi.Lanes;

public sealed partial class LaneDispatcher
{
    private const int MaxRunningIdsInLog = 5;

    /// <summary>Above this many waiting items the position in the log is not counted, because counting scans them all.</summary>
    private const int MaxWaitingForPosition = 10_000;

    private LaneSnapshot Snapshot(Lane lane)
    {
        lock (lane.Sync)
        {
            var (p50, p95) = lane.WaitPercentiles();
            var oldest = FindOldestWaiting(lane);
            var rateLimited = lane.RunningItems().Count(item => item.IsRateLimited);
            LaneWaitReason? reason = rateLimited > 0 ? LaneWaitReason.RateLimited : null;
            double? oldestWaitMs = null;
            if (oldest is not null)
            {
                reason = WaitReasonOf(lane, oldest, rateLimited);
                oldestWaitMs = Math.Max(0, _clock.NowMilliseconds - oldest.EnqueuedAtMs);
            }

            return new LaneSnapshot(
                lane.Name,
                lane.Limit,
                lane.RunningCount,
                lane.Waiting,
                lane.Completed,
                lane.Failed,
                p50,
                p95,
                reason,
                oldestWaitMs)
            {
                RateLimited = rateLimited,
            };
        }
    }

    /// <summary>The reason as <c>GET /api/lanes</c> writes it, such as <c>lane_full</c>, so that logs and the API use one name.</summary>
    private static string ApiName(LaneWaitReason reason) => JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString());

    private static LaneWaitReason WaitReasonOf(Lane lane, LaneWorkItem item, int rateLimited) =>
        lane.Limit == 0 ? LaneWaitReason.Paused
        : item.InSessionPending ? LaneWaitReason.SessionBusy
        : rateLimited > 0 ? LaneWaitReason.RateLimited
        : LaneWaitReason.LaneFull;

    /// <summary>The waiting item scheduled first, among the heads of the heaps and session queues. Under the lane's lock.</summary>
    private static LaneWorkItem? FindOldestWaiting(Lane lane)
    {
        LaneWorkItem? oldest = null;
        foreach (var candidate in WaitingHeads(lane))
        {
            if (oldest is null || candidate.Sequence < oldest.Sequence)
            {
                oldest = candidate;
            }
        }

        return oldest;
    }

    private static IEnumerable<LaneWorkItem> WaitingHeads(Lane lane)
    {
        foreach (var level in lane.Ready)
        {
            if (level.PeekOldest() is { } head)
            {
                yield return head;
            }
        }

        foreach (var session in lane.Sessions.Values)
        {
            foreach (var pending in session.Pending)
            {
                if (pending.IsWaiting)
                {
                    yield return pending;
                    break;
                }
            }
        }
    }

    /// <summary>Logs, once per item, work that has waited past the threshold, with what runs ahead of it.</summary>
    private void LogLongWaits()
    {
        var threshold = _options.WaitLogThreshold;
        if (threshold <= TimeSpan.Zero)
        {
            return;
        }

        foreach (var lane in _lanes.Values)
        {
            List<(LaneWorkItem Item, long WaitMs, LaneWaitReason Reason, int Position, int Waiting, int Active, int Limit, string Running)> longWaits = [];
            lock (lane.Sync)
            {
                var now = _clock.NowMilliseconds;
                foreach (var head in WaitingHeads(lane).ToList())
                {
                    var waited = TimeSpan.FromMilliseconds(now - head.EnqueuedAtMs);
                    if (head.WaitLogged || waited < threshold)
                    {
                        continue;
                    }

                    head.WaitLogged = true;
                    var running = string.Join(", ", lane.RunningItems().Take(MaxRunningIdsInLog).Select(item => item.Id));
                    longWaits.Add((head, (long)waited.TotalMilliseconds, WaitReasonOf(lane, head, lane.RunningItems().Count(item => item.IsRateLimited)), PositionOf(lane, head), lane.Waiting, lane.RunningCount, lane.Limit, running));
                }
            }

            foreach (var wait in longWaits)
            {
                LaneLog.LongWait(_logger, wait.Item.Id, wait.WaitMs, lane.Name, ApiName(wait.Reason), wait.Position, wait.Waiting, wait.Active, wait.Limit,
                    wait.Running.Length == 0 ? "nothing" : wait.Running);
            }
        }
    }

    /// <summary>
    /// The item's place among the waiting items by age, 1 for the oldest, or -1 when too many
    /// wait to count them. Under the lane's lock.
    /// </summary>
    private static int PositionOf(Lane lane, LaneWorkItem item)
    {
        if (lane.Waiting > MaxWaitingForPosition)
        {
            return -1;
        }

        var older = lane.Ready.SelectMany(level => level.Items)
            .Concat(lane.Sessions.Values.SelectMany(session => session.Pending))
            .Count(other => other.IsWaiting && other.Sequence < item.Sequence);
        return older + 1;
    }
}

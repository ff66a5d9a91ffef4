namespace AgentApi.Schedules;

/// <summary>Which missed slots run late and which are recorded as <c>missed</c>, each list oldest first.</summary>
public sealed record CatchUpPlan(IReadOnlyList<DateTimeOffset> Run, IReadOnlyList<DateTimeOffset> Missed)
{
    /// <summary>
    /// Applies <paramref name="policy"/> to <paramref name="missedSlots"/> (oldest first):
    /// <c>skip</c> runs none, <c>once</c> runs the newest, and <c>all</c> runs the newest
    /// <paramref name="maxRuns"/>.
    /// </summary>
    public static CatchUpPlan For(CatchUpPolicy policy, IReadOnlyList<DateTimeOffset> missedSlots, int maxRuns)
    {
        var runCount = policy switch
        {
            CatchUpPolicy.Once => Math.Min(1, missedSlots.Count),
            CatchUpPolicy.All => Math.Min(maxRuns, missedSlots.Count),
            _ => 0,
        };

        var split = missedSlots.Count - runCount;
        return new CatchUpPlan(missedSlots.Skip(split).ToList(), missedSlots.Take(split).ToList());
    }
}

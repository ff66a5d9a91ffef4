namespace AgentApi.Lanes;

/// <summary>The built-in lanes and their default concurrency.</summary>
public static class LaneNames
{
    /// <summary>User-facing tasks.</summary>
    public const string Main = "main";

    /// <summary>Scheduled and heartbeat runs.</summary>
    public const string Cron = "cron";

    /// <summary>Subagents of a fan-out.</summary>
    public const string Subagent = "subagent";

    /// <summary>Work a running task starts and waits for outside its fan-out, such as synthesis.</summary>
    public const string Nested = "nested";

    public static IReadOnlyDictionary<string, int> BuiltInLimits { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [Main] = 1,
        [Cron] = 2,
        [Subagent] = 3,
        [Nested] = 1,
    };
}

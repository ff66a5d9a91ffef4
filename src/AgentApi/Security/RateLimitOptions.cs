namespace AgentApi.Security;

/// <summary>Per-key request limits, under <c>RateLimits</c>.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Requests one key (or, without a key, one client address) may make per window; 0 turns the limit off. Defaults to 1,000.</summary>
    public int PermitsPerWindow { get; set; } = 1_000;

    /// <summary>The window the permits are counted in. Defaults to 10 seconds.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);
}

namespace AgentApi.Processes;

/// <summary>The CPU settings of a cgroup.</summary>
/// <param name="QuotaUs">
/// CPU time the cgroup may use per period, in microseconds, or null when not limited (v2 <c>cpu.max</c>
/// <c>max</c>, v1 <c>cpu.cfs_quota_us</c> -1). Quota divided by period is the number of CPUs' worth of time.
/// </param>
/// <param name="PeriodUs">The length of the quota period, in microseconds (v2 <c>cpu.max</c>, v1 <c>cpu.cfs_period_us</c>).</param>
/// <param name="Shares">The v1 relative CPU share (<c>cpu.shares</c>, default 1024), or null on v2.</param>
/// <param name="Weight">The v2 relative CPU weight (<c>cpu.weight</c>, 1 to 10000, default 100), or null on v1.</param>
public sealed record CgroupCpuResources(long? QuotaUs, long? PeriodUs, long? Shares, long? Weight);

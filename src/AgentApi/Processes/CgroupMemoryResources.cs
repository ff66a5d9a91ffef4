namespace AgentApi.Processes;

/// <summary>The memory settings of a cgroup.</summary>
/// <param name="LimitBytes">
/// The memory limit in bytes (v2 <c>memory.max</c>, v1 <c>memory.limit_in_bytes</c>), or null when not limited.
/// </param>
/// <param name="UsageBytes">The memory the cgroup uses now, in bytes (v2 <c>memory.current</c>, v1 <c>memory.usage_in_bytes</c>).</param>
public sealed record CgroupMemoryResources(long? LimitBytes, long? UsageBytes);

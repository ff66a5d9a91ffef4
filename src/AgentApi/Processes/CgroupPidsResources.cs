namespace AgentApi.Processes;

/// <summary>The process count settings of a cgroup.</summary>
/// <param name="Max">The maximum number of processes and threads (<c>pids.max</c>), or null when not limited.</param>
public sealed record CgroupPidsResources(long? Max);

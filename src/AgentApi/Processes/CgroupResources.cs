namespace AgentApi.Processes;

/// <summary>The limits of the process's own cgroup. A null value is not limited, does not apply to this cgroup version, or could not be read.</summary>
/// <param name="Version">
/// 1 when a cgroup v1 hierarchy has the cpu, cpuset, memory or pids controller (also on hybrid
/// hosts that mount an empty cgroup v2 tree beside it), 2 on a unified cgroup v2 host, null when
/// the process has no cgroup.
/// </param>
/// <param name="Cpu">CPU bandwidth and share settings.</param>
/// <param name="Cpuset">
/// The CPUs the cgroup allows in the kernel's list format, such as <c>0-3,8</c>: v2
/// <c>cpuset.cpus.effective</c> (else <c>cpuset.cpus</c>), v1 <c>cpuset.cpus</c>.
/// </param>
/// <param name="Memory">Memory limit and usage.</param>
/// <param name="Pids">Process count limit.</param>
public sealed record CgroupResources(
    int? Version,
    CgroupCpuResources Cpu,
    string? Cpuset,
    CgroupMemoryResources Memory,
    CgroupPidsResources Pids)
{
    /// <summary>The value for a process without cgroups: every field null.</summary>
    public static CgroupResources None { get; } = new(
        Version: null,
        new CgroupCpuResources(QuotaUs: null, PeriodUs: null, Shares: null, Weight: null),
        Cpuset: null,
        new CgroupMemoryResources(LimitBytes: null, UsageBytes: null),
        new CgroupPidsResources(Max: null));
}

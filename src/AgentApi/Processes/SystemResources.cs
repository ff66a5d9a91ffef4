namespace AgentApi.Processes;

/// <summary>The CPUs and cgroup limits the service process runs under, as returned by <c>GET /api/system/resources</c>.</summary>
/// <param name="ProcessorCount">
/// <see cref="Environment.ProcessorCount"/>: the processors .NET uses, which on Linux reflects the
/// affinity mask and a CPU quota.
/// </param>
/// <param name="Affinity">
/// The CPU numbers the process may run on, sorted, from <c>Cpus_allowed_list</c> in
/// <c>/proc/self/status</c>, or null where that file is missing or unreadable.
/// </param>
/// <param name="Cgroup">The limits of the process's own cgroup. Every field is null without cgroups.</param>
public sealed record SystemResources(int ProcessorCount, IReadOnlyList<int>? Affinity, CgroupResources Cgroup);

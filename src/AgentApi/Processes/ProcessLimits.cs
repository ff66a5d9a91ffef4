namespace AgentApi.Processes;

/// <summary>The resource limits of a process agent, as its agent file sets them. Null means not limited.</summary>
/// <param name="Cpus">The CPUs the program may run on, in the kernel's CPU list format, such as <c>0-1</c>.</param>
/// <param name="CpuQuota">CPU time per wall-clock time, in cores: <c>0.5</c> is half of one CPU.</param>
/// <param name="MemoryLimitBytes">Memory the program and its descendants may use together, swap included.</param>
/// <param name="PidsLimit">Processes and threads the program and its descendants may have at once.</param>
/// <param name="Timeout">Wall-clock time after which the program and its descendants are killed.</param>
public sealed record ProcessLimits(
    string? Cpus,
    double? CpuQuota,
    long? MemoryLimitBytes,
    long? PidsLimit,
    TimeSpan? Timeout)
{
    public static readonly ProcessLimits None = new(null, null, null, null, null);
}

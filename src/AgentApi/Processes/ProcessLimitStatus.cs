namespace AgentApi.Processes;

/// <summary>Whether one limit of a process run is in force, and how, or why not.</summary>
/// <param name="Limit">The agent file's key: <c>cpus</c>, <c>cpuQuota</c>, <c>memoryLimit</c>, <c>pidsLimit</c> or <c>timeoutSeconds</c>.</param>
/// <param name="Value">The value in force, as the agent file writes it (the CPU list after the lane's list is applied).</param>
/// <param name="Applied">Whether the limit is in force.</param>
/// <param name="Method">How it is enforced, such as <c>cgroup v1 memory.limit_in_bytes</c> or <c>taskset</c>; null when not applied.</param>
/// <param name="Reason">Why it is not in force, or what differs from the requested limit; null when nothing needs saying.</param>
public sealed record ProcessLimitStatus(string Limit, string Value, bool Applied, string? Method, string? Reason);

namespace AgentApi.Processes;

/// <summary>A process agent's program that is running now, with the limits in force for it.</summary>
/// <param name="TaskId">The task the program runs for.</param>
/// <param name="Agent">The process agent's name.</param>
/// <param name="Lane">The task's lane.</param>
/// <param name="ProcessId">The program's pid.</param>
/// <param name="Command">The program's full path.</param>
/// <param name="CgroupVersion">1 or 2, or null when the run has no cgroup.</param>
/// <param name="CgroupDirectories">The groups created for the run.</param>
/// <param name="Limits">Each requested limit, applied or not, with how or why not.</param>
/// <param name="StartedAt">When the program started.</param>
public sealed record RunningProcess(
    Guid TaskId,
    string Agent,
    string Lane,
    int ProcessId,
    string Command,
    int? CgroupVersion,
    IReadOnlyList<string> CgroupDirectories,
    IReadOnlyList<ProcessLimitStatus> Limits,
    DateTimeOffset StartedAt);

namespace AgentApi.Processes;

/// <summary>
/// The util-linux programs the launcher chains before the agent's program, found once at start-up
/// in the system folders; each is null when missing.
/// </summary>
/// <param name="Setsid"><c>setsid</c>: starts the program in a process group of its own, so that the group can be killed without a cgroup.</param>
/// <param name="Taskset"><c>taskset</c>: pins the program to its CPU list before it executes.</param>
/// <param name="Prlimit"><c>prlimit</c>: limits the program's address space where no cgroup limits its memory.</param>
internal sealed record LauncherTools(string? Setsid, string? Taskset, string? Prlimit)
{
    private const string SystemPath = "/usr/bin:/bin:/usr/sbin:/sbin";

    public static LauncherTools Find() => new(
        ProcessEnvironment.FindExecutable("setsid", SystemPath, "/"),
        ProcessEnvironment.FindExecutable("taskset", SystemPath, "/"),
        ProcessEnvironment.FindExecutable("prlimit", SystemPath, "/"));
}

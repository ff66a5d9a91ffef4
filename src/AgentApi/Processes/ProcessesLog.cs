namespace AgentApi.Processes;

internal static partial class ProcessesLog
{
    [LoggerMessage(9001, LogLevel.Warning,
        "Reading '{Path}' failed, so system resources report its value as null. Later failures of this file are not logged.")]
    public static partial void FileUnreadable(ILogger logger, string path, Exception exception);

    [LoggerMessage(9002, LogLevel.Warning,
        "'{Path}' contains '{Content}', which is not a valid {Expected}, so system resources report it as null. Later failures of this file are not logged.")]
    public static partial void ValueInvalid(ILogger logger, string path, string content, string expected);

    [LoggerMessage(9003, LogLevel.Information,
        "Moved the service into the cgroup '{Path}', so that its parent group can pass controllers to the groups of process runs.")]
    public static partial void MovedIntoLeaf(ILogger logger, string path);

    [LoggerMessage(9004, LogLevel.Warning, "The cgroup '{Path}' of a process run could not be removed: {Reason}.")]
    public static partial void CgroupNotRemoved(ILogger logger, string path, string reason);

    [LoggerMessage(9005, LogLevel.Information,
        "Task {TaskId}: agent '{Agent}' started '{Command}' as pid {ProcessId} in cgroup version {CgroupVersion}.")]
    public static partial void ProcessStarted(ILogger logger, Guid taskId, string agent, int processId, string command, int? cgroupVersion);

    [LoggerMessage(9006, LogLevel.Information,
        "Task {TaskId}: the program of agent '{Agent}' exited with code {ExitCode} after {DurationMs} ms, using {CpuUsageUs} µs of CPU time.")]
    public static partial void ProcessExited(ILogger logger, Guid taskId, string agent, int exitCode, long durationMs, long? cpuUsageUs);

    [LoggerMessage(9007, LogLevel.Warning, "Task {TaskId}: limits of agent '{Agent}' not fully applied: {Limits}.")]
    public static partial void LimitsNotApplied(ILogger logger, Guid taskId, string agent, string limits);

    [LoggerMessage(9008, LogLevel.Warning,
        "Task {TaskId}: processes of the run in '{Where}' were still alive after being killed.")]
    public static partial void MembersSurvived(ILogger logger, Guid taskId, string where);

    [LoggerMessage(9009, LogLevel.Warning,
        "Removed the cgroup '{Directory}' that service process {OwnerPid}, no longer running, left behind; members killed: {Emptied}, removed: {Removed}.")]
    public static partial void LeftoverRemoved(ILogger logger, string directory, int ownerPid, bool emptied, bool removed);
}

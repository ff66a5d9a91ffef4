namespace AgentApi.Agents.Tools;

/// <summary>Log messages of the sandboxed tools, event ids 7001 to 7099.</summary>
internal static partial class ToolLog
{
    [LoggerMessage(7001, LogLevel.Information,
        "Task {TaskId}: the bash command of agent '{Agent}' exited with code {ExitCode} after {DurationMs} ms and wrote {OutputBytes} bytes.")]
    public static partial void BashExited(ILogger logger, Guid taskId, string agent, int exitCode, long durationMs, long outputBytes);

    [LoggerMessage(7002, LogLevel.Warning,
        "Task {TaskId}: the bash command of agent '{Agent}' timed out after {TimeoutMs} ms, so its process tree was killed.")]
    public static partial void BashTimedOut(ILogger logger, Guid taskId, string agent, long timeoutMs);

    [LoggerMessage(7003, LogLevel.Information,
        "Task {TaskId}: the bash command of agent '{Agent}' was cancelled, so its process tree was killed.")]
    public static partial void BashCancelled(ILogger logger, Guid taskId, string agent);

    [LoggerMessage(7004, LogLevel.Warning,
        "Task {TaskId}: killing the process tree of the bash command of agent '{Agent}' failed.")]
    public static partial void BashKillFailed(ILogger logger, Guid taskId, string agent, Exception exception);

    [LoggerMessage(7005, LogLevel.Warning,
        "Task {TaskId}: background processes of the bash command of agent '{Agent}' kept its output open {GraceMs} ms after it exited. They were left running.")]
    public static partial void BashOutputStillOpen(ILogger logger, Guid taskId, string agent, long graceMs);

    [LoggerMessage(7010, LogLevel.Information,
        "Task {TaskId}: web_fetch of agent '{Agent}' rejected host '{Host}' because it is not in Tools:WebFetch:AllowedHosts.")]
    public static partial void WebFetchHostRejected(ILogger logger, Guid taskId, string agent, string host);

    [LoggerMessage(7011, LogLevel.Information,
        "Task {TaskId}: web_fetch of agent '{Agent}' got status {StatusCode} from host '{Host}' with {BodyBytes} body bytes after {DurationMs} ms.")]
    public static partial void WebFetchCompleted(ILogger logger, Guid taskId, string agent, string host, int statusCode, long bodyBytes, long durationMs);

    [LoggerMessage(7012, LogLevel.Information,
        "Task {TaskId}: web_fetch of agent '{Agent}' to host '{Host}' failed: {Reason}")]
    public static partial void WebFetchFailed(ILogger logger, Guid taskId, string agent, string host, string reason);
}

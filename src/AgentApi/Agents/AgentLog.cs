namespace AgentApi.Agents;

internal static partial class AgentLog
{
    [LoggerMessage(6021, LogLevel.Warning, "Task {TaskId}: tool '{Tool}' failed with an unexpected error; the model gets an error result.")]
    public static partial void ToolCrashed(ILogger logger, Guid taskId, string tool, Exception exception);

    [LoggerMessage(6022, LogLevel.Warning, "Task {TaskId}: the model asked for tool '{Tool}', which agent '{Agent}' may not use.")]
    public static partial void ToolRefused(ILogger logger, Guid taskId, string tool, string agent);

    [LoggerMessage(6023, LogLevel.Warning, "Task {TaskId} stopped: the model called '{Tool}' with the same arguments {Count} times.")]
    public static partial void RepeatedToolCall(ILogger logger, Guid taskId, string tool, int count);
}

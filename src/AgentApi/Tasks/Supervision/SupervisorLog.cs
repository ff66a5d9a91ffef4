namespace AgentApi.Tasks.Supervision;

internal static partial class SupervisorLog
{
    [LoggerMessage(6101, LogLevel.Information,
        "Task {TaskId} reuses {Count} children of an earlier attempt, {FinishedCount} of them finished; finished ones do not run again.")]
    public static partial void ReusingChildren(ILogger logger, Guid taskId, int count, int finishedCount);

    [LoggerMessage(6102, LogLevel.Information, "Task {TaskId}: subtask {SubtaskIndex} decided the '{Coordination}' fan-out; its siblings are cancelled.")]
    public static partial void StoppingSiblings(ILogger logger, Guid taskId, int subtaskIndex, string coordination);

    [LoggerMessage(6103, LogLevel.Warning, "Task {TaskId}: the model's plan was invalid ({Reason}); asking once more.")]
    public static partial void InvalidPlan(ILogger logger, Guid taskId, string reason);

    [LoggerMessage(6104, LogLevel.Information, "Task {TaskId} planned {Count} subtasks.")]
    public static partial void Planned(ILogger logger, Guid taskId, int count);
}

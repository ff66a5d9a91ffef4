namespace AgentApi.Tasks;

/// <summary>State changes shared by the API and the runner, so every finish records the same fields and event.</summary>
public static class TaskTransitions
{
    public static void Finish(
        AgentTask task,
        TaskEventBuffer events,
        AgentTaskStatus status,
        DateTimeOffset now,
        string? errorType = null,
        string? errorMessage = null)
    {
        task.Status = status;
        task.FinishedAt = now;
        task.ErrorType = errorType;
        task.ErrorMessage = errorMessage;

        var eventType = status switch
        {
            AgentTaskStatus.Succeeded => TaskEventTypes.Succeeded,
            AgentTaskStatus.Failed => TaskEventTypes.Failed,
            AgentTaskStatus.Cancelled => TaskEventTypes.Cancelled,
            AgentTaskStatus.TimedOut => TaskEventTypes.TimedOut,
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "A finished status is required."),
        };

        events.Add(eventType, errorType is null
            ? new { status = WireNames<AgentTaskStatus>.ToName(status) }
            : new { status = WireNames<AgentTaskStatus>.ToName(status), error = new { type = errorType, message = errorMessage } });
    }
}

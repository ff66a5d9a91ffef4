namespace AgentApi.Tasks;

public enum AgentTaskStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

public static class AgentTaskStatusExtensions
{
    public static bool IsFinished(this AgentTaskStatus status) =>
        status is AgentTaskStatus.Succeeded
            or AgentTaskStatus.Failed
            or AgentTaskStatus.Cancelled
            or AgentTaskStatus.TimedOut;
}

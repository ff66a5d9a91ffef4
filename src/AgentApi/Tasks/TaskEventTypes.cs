namespace AgentApi.Tasks;

/// <summary>The names of task events as stored and sent to clients.</summary>
public static class TaskEventTypes
{
    public const string Queued = "queued";
    public const string Started = "started";
    public const string Progress = "progress";
    public const string AttemptFailed = "attempt_failed";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string TimedOut = "timed_out";
    public const string CancelRequested = "cancel_requested";
}

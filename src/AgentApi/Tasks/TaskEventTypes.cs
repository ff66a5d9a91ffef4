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
    public const string ModelCall = "model_call";
    public const string ToolCall = "tool_call";
    public const string RateLimited = "rate_limited";
    public const string PlanCreated = "plan_created";
    public const string ChildStarted = "child_started";
    public const string ChildCompleted = "child_completed";

    /// <summary>A process agent's program started; <c>data.limits</c> lists each limit with how it is applied.</summary>
    public const string ProcessStarted = "process_started";

    /// <summary>Limits of a process agent that are not in force, or only in part, each with the reason.</summary>
    public const string LimitsNotApplied = "limits_not_applied";

    /// <summary>A process agent's program exited, with its exit code and its cgroup's CPU time and memory peak.</summary>
    public const string ProcessExited = "process_exited";

    /// <summary>Model output as it arrives; <c>data.text</c> contains the text since the previous output event.</summary>
    public const string Output = "output";

    /// <summary>A webhook delivery attempt succeeded; stored after the task's final event.</summary>
    public const string WebhookDelivered = "webhook_delivered";

    /// <summary>A webhook delivery attempt failed; <c>data.retryInMs</c> is null when no attempt follows.</summary>
    public const string WebhookFailed = "webhook_failed";

    /// <summary>Returns whether <paramref name="type"/> is a task's last event: nothing follows it.</summary>
    public static bool IsFinal(string type) => type is Succeeded or Failed or Cancelled or TimedOut;
}

using Hangfire;
using Hangfire.Server;

namespace AgentApi.Tasks;

/// <summary>
/// The Hangfire job of one task. It carries only the task id and ends as soon as the task is in
/// its lane on this instance. From there the task row, not the job, tracks the task.
/// </summary>
public sealed class RunTaskJob(TaskDispatch dispatch)
{
    /// <summary>Claims the task and schedules it. Hangfire passes its own <paramref name="context"/> and shutdown token.</summary>
    [AutomaticRetry(Attempts = 10, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public Task RunAsync(Guid taskId, PerformContext? context, CancellationToken cancellationToken) =>
        dispatch.AcceptAsync(taskId, context?.BackgroundJob.Id, cancellationToken);
}

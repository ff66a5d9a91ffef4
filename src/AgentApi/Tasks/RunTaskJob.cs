using AgentApi.Storage;
using Hangfire;
using Hangfire.Server;

namespace AgentApi.Tasks;

/// <summary>
/// The Hangfire job of one task. It carries only the task id and ends as soon as the task is in
/// its lane on this instance. From there the task row, not the job, tracks the task.
/// </summary>
public sealed class RunTaskJob(TaskDispatch dispatch)
{
    /// <summary>
    /// Claims the task and schedules it. Hangfire passes its own <paramref name="context"/> and
    /// shutdown token. It cancels that token from the host's stopping callbacks, on the thread that
    /// handles the stop signal, so the claim's queries get a <see cref="BackgroundCancellation"/>
    /// that does not hold that thread against a hung database.
    /// </summary>
    [AutomaticRetry(Attempts = 10, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public async Task RunAsync(Guid taskId, PerformContext? context, CancellationToken cancellationToken)
    {
        using var stopping = new BackgroundCancellation(cancellationToken);
        await dispatch.AcceptAsync(taskId, context?.BackgroundJob.Id, stopping.Token);
    }
}

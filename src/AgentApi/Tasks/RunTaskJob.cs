using Hangfire;
using Hangfire.Server;

namespace AgentApi.Tasks;

/// <summary>
/// The Hangfire job that runs one task. It carries only the task id: the task row holds
/// everything else, so a job that runs late or twice reads the current state.
/// </summary>
public sealed class RunTaskJob(TaskRunner runner)
{
    /// <summary>Runs the task. Hangfire passes its own <paramref name="context"/> and shutdown token.</summary>
    [AutomaticRetry(Attempts = 10, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public Task RunAsync(Guid taskId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAsync(taskId, context?.BackgroundJob.Id, cancellationToken);
}

using AgentApi.Tasks;
using Hangfire;

namespace AgentApi.Webhooks;

/// <summary>Puts the first delivery of a finished task's webhook on the Hangfire queue.</summary>
/// <remarks>
/// NOTE: the job is enqueued after the task's final state is saved, not in the same transaction,
/// so a process that dies in between loses that task's webhook. Deliveries are otherwise at
/// least once: a receiver deduplicates by the delivery id.
/// </remarks>
public sealed class WebhookTrigger(IBackgroundJobClient jobs, ILogger<WebhookTrigger> logger) : ITaskOutcomeListener
{
    public void OnFinished(AgentTask task)
    {
        if (task.WebhookUrl is null || task.ParentId is not null || task.Suppressed)
        {
            return;
        }

        var taskId = task.Id;

        // Off the saving thread: enqueueing is a database write of its own.
        _ = Task.Run(() =>
        {
            try
            {
                jobs.Enqueue<WebhookDeliveryJob>(job => job.DeliverAsync(taskId, 1, CancellationToken.None));
            }
            catch (Exception exception)
            {
                WebhookLog.EnqueueFailed(logger, taskId, exception);
            }
        });
    }
}

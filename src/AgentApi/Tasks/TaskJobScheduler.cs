using Hangfire;

namespace AgentApi.Tasks;

/// <summary>Puts a task's job on its Hangfire queue and records the job id on the task.</summary>
public sealed class TaskJobScheduler(IBackgroundJobClient jobClient, TaskStore store)
{
    public async Task<string> EnqueueAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var jobId = jobClient.Enqueue<RunTaskJob>(task.Queue, job => job.RunAsync(task.Id, null, CancellationToken.None));

        // The job may already be running and have claimed the task with this id; both write the same value.
        await store.UpdateAsync(task.Id, (stored, _) => stored.HangfireJobId = jobId, cancellationToken);
        return jobId;
    }

    /// <summary>Puts a task's job on its queue after <paramref name="delay"/>.</summary>
    public async Task<string> ScheduleAsync(AgentTask task, TimeSpan delay, CancellationToken cancellationToken)
    {
        var jobId = jobClient.Schedule<RunTaskJob>(task.Queue, job => job.RunAsync(task.Id, null, CancellationToken.None), delay);
        await store.UpdateAsync(task.Id, (stored, _) => stored.HangfireJobId = jobId, cancellationToken);
        return jobId;
    }
}

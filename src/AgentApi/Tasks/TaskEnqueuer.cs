using AgentApi.Storage;
using System.Collections.Concurrent;
using System.Threading.Channels;

namespace AgentApi.Tasks;

/// <summary>
/// Creates the Hangfire jobs of newly stored tasks off the request path. Hangfire's client is
/// synchronous, so calling it from requests ties up a pool thread per submission, and a burst
/// starves the thread pool. Here one loop creates the jobs in submission order. The task row is
/// already stored, so the recovery sweep creates a job that is lost with the process.
/// </summary>
public sealed class TaskEnqueuer(TaskJobScheduler scheduler, ILogger<TaskEnqueuer> logger) : IHostedService
{
    private readonly Channel<AgentTask> _pending = Channel.CreateUnbounded<AgentTask>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Guid, byte> _pendingIds = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _pump;

    /// <summary>Queues the task's job for creation; returns false when the service is stopping.</summary>
    public bool Post(AgentTask task)
    {
        _pendingIds[task.Id] = 0;
        if (_pending.Writer.TryWrite(task))
        {
            return true;
        }

        _pendingIds.TryRemove(task.Id, out _);
        return false;
    }

    /// <summary>Returns whether the task's job is still waiting to be created here.</summary>
    public bool IsPending(Guid taskId) => _pendingIds.ContainsKey(taskId);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pump = Task.Run(() => PumpAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Creates the jobs still waiting, unless the host's stop timeout runs out first.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        if (_pump is null)
        {
            return;
        }

        try
        {
            await _pump.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Not awaited, because an enqueue in flight against a hung database delays the cancellation.
            HostedStop.CancelInBackground(_stopping);
        }
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        await foreach (var task in _pending.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await scheduler.EnqueueAsync(task, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (StorageRetry.IsStorageFailure(exception) || exception is Hangfire.BackgroundJobClientException)
            {
                TasksLog.EnqueueFailed(logger, task.Id, exception);
            }
            finally
            {
                _pendingIds.TryRemove(task.Id, out _);
            }
        }
    }
}

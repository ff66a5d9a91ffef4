using System.Threading.Channels;
using AgentApi.Tasks;

namespace AgentApi.Events;

/// <summary>
/// Collects the events for <c>SubscribeAllBatched</c> connections and sends them as one
/// <c>taskEvents</c> invocation per batch, serialized once for the whole group. A
/// batch is sent <paramref name="interval"/> after its first event was added, or as soon as the
/// caller sees it full. Batches are sent one at a time, in the order of their events.
/// </summary>
internal sealed class TaskEventBatcher(
    Func<IReadOnlyList<TaskEventResponse>, CancellationToken, Task> send,
    TimeSpan interval,
    int maxSize,
    TimeProvider timeProvider,
    ILogger logger)
{
    private readonly Lock _sync = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);

    // The timestamp of each batch's first event. A batch that starts while an earlier timestamp is
    // still unread drops its own: the earlier one's send comes sooner and takes its events along.
    private readonly Channel<long> _batchStarts = Channel.CreateBounded<long>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    private List<TaskEventResponse> _pending = [];

    /// <summary>Adds an event to the current batch; returns true when the batch is full and should be sent now.</summary>
    /// <remarks>Called by one loop only, which sends a full batch before it adds the next event.</remarks>
    public bool Add(TaskEventResponse taskEvent)
    {
        lock (_sync)
        {
            _pending.Add(taskEvent);
            if (_pending.Count == 1)
            {
                _batchStarts.Writer.TryWrite(timeProvider.GetTimestamp());
            }

            return _pending.Count >= maxSize;
        }
    }

    /// <summary>Sends each batch <c>interval</c> after its first event, until <paramref name="stoppingToken"/> is cancelled.</summary>
    public async Task SendOnTimeAsync(CancellationToken stoppingToken)
    {
        await foreach (var startedAt in _batchStarts.Reader.ReadAllAsync(stoppingToken))
        {
            var wait = interval - timeProvider.GetElapsedTime(startedAt);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, timeProvider, stoppingToken);
            }

            await SendAsync(stoppingToken);
        }
    }

    /// <summary>Sends the events added so far as one batch, if there are any.</summary>
    public async Task SendAsync(CancellationToken cancellationToken)
    {
        await _sendGate.WaitAsync(cancellationToken);
        try
        {
            List<TaskEventResponse> batch;
            lock (_sync)
            {
                if (_pending.Count == 0)
                {
                    return;
                }

                // Swapped under the lock, so that events added during the send go to the next batch.
                batch = _pending;
                _pending = new List<TaskEventResponse>(Math.Min(batch.Count, maxSize));
            }

            try
            {
                await send(batch, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                EventsLog.BroadcastFailed(logger, exception);
            }
        }
        finally
        {
            _sendGate.Release();
        }
    }
}

namespace AgentApi.Storage;

/// <summary>
/// Collects writes and hands them to a save function in batches, so writes that arrive while
/// saves are under way share the next transaction (group commit). Up to
/// <c>maxConcurrentBatches</c> batches are saved at once, and a write that arrives when a save
/// slot is free starts a batch at once, so a lone write waits for nothing.
/// </summary>
/// <remarks>
/// The save function reports the outcome of each item itself. Items with the same key are never
/// saved at the same time, in one batch or in two, so a later write of one row sees the earlier one.
/// </remarks>
public sealed class GroupCommitQueue<TItem>(
    Func<IReadOnlyList<TItem>, Task> saveBatch,
    Action<TItem, Exception> fail,
    Func<TItem, object>? key = null,
    int maxBatchSize = GroupCommitQueue<TItem>.DefaultMaxBatchSize,
    int maxConcurrentBatches = 2)
{
    public const int DefaultMaxBatchSize = 200;

    private readonly Lock _sync = new();
    private readonly List<TItem> _waiting = [];
    private readonly HashSet<object> _inFlight = [];
    private int _savers;

    public void Add(TItem item)
    {
        lock (_sync)
        {
            _waiting.Add(item);
            if (_savers >= maxConcurrentBatches)
            {
                return;
            }

            _savers++;
        }

        _ = Task.Run(SaveAllAsync);
    }

    private async Task SaveAllAsync()
    {
        while (TakeBatch() is { } batch)
        {
            try
            {
                await saveBatch(batch);
            }
            catch (Exception exception)
            {
                // The save function reports failures per item, so this is not expected. Failing
                // the batch keeps the loop alive, and later writes are still saved.
                foreach (var item in batch)
                {
                    fail(item, exception);
                }
            }
            finally
            {
                Release(batch);
            }
        }
    }

    private List<TItem>? TakeBatch()
    {
        lock (_sync)
        {
            var batch = new List<TItem>();
            for (var index = 0; index < _waiting.Count && batch.Count < maxBatchSize; index++)
            {
                // A key already in this batch or in another one being saved waits for the next.
                if (key is null || _inFlight.Add(key(_waiting[index])))
                {
                    batch.Add(_waiting[index]);
                    _waiting.RemoveAt(index);
                    index--;
                }
            }

            if (batch.Count == 0)
            {
                _savers--;
                return null;
            }

            return batch;
        }
    }

    private void Release(List<TItem> batch)
    {
        if (key is null)
        {
            return;
        }

        lock (_sync)
        {
            foreach (var item in batch)
            {
                _inFlight.Remove(key(item));
            }
        }
    }
}

using AgentApi.Storage;

namespace AgentApi.Tests.Storage;

public sealed class GroupCommitQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task LoneItem_IsSavedAtOnce()
    {
        var saved = new TaskCompletionSource<IReadOnlyList<int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new GroupCommitQueue<int>(batch =>
        {
            saved.TrySetResult(batch.ToList());
            return Task.CompletedTask;
        }, (_, _) => { });

        queue.Add(7);

        Assert.Equal([7], await saved.Task.WaitAsync(Timeout));
    }

    [Fact]
    public async Task ItemsDuringASave_ShareTheNextBatch()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstSaving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batches = new List<List<int>>();
        var allSaved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new GroupCommitQueue<int>(async batch =>
        {
            lock (batches)
            {
                batches.Add(batch.ToList());
            }

            if (batch.Contains(0))
            {
                firstSaving.SetResult();
                await release.Task;
            }

            if (batches.Sum(saved => saved.Count) == 11)
            {
                allSaved.TrySetResult();
            }
        }, (_, _) => { }, maxConcurrentBatches: 1);

        queue.Add(0);
        await firstSaving.Task.WaitAsync(Timeout);
        for (var item = 1; item <= 10; item++)
        {
            queue.Add(item);
        }

        release.SetResult();
        await allSaved.Task.WaitAsync(Timeout);

        Assert.Equal(2, batches.Count);
        Assert.Equal([0], batches[0]);
        Assert.Equal(Enumerable.Range(1, 10), batches[1]);
    }

    [Fact]
    public async Task SameKey_NeverSavedAtTheSameTime()
    {
        var active = new HashSet<int>();
        var overlaps = 0;
        var count = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new GroupCommitQueue<(int Key, int Sequence)>(async batch =>
        {
            lock (active)
            {
                foreach (var (key, _) in batch)
                {
                    if (!active.Add(key))
                    {
                        overlaps++;
                    }
                }
            }

            await Task.Delay(5);
            lock (active)
            {
                foreach (var (key, _) in batch)
                {
                    active.Remove(key);
                }

                count += batch.Count;
                if (count == 200)
                {
                    done.TrySetResult();
                }
            }
        }, (_, _) => { }, key: item => item.Key, maxConcurrentBatches: 4);

        for (var sequence = 0; sequence < 200; sequence++)
        {
            queue.Add((sequence % 5, sequence));
        }

        await done.Task.WaitAsync(Timeout);

        Assert.Equal(0, overlaps);
    }

    [Fact]
    public async Task SaveThrows_EachItemIsFailedAndLaterItemsStillSaved()
    {
        var failed = new List<int>();
        var firstFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var later = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new GroupCommitQueue<int>(batch =>
        {
            if (batch.Contains(1))
            {
                throw new InvalidOperationException("broken batch");
            }

            later.TrySetResult(batch[0]);
            return Task.CompletedTask;
        }, (item, _) =>
        {
            lock (failed)
            {
                failed.Add(item);
            }

            firstFailed.TrySetResult();
        });

        queue.Add(1);
        await firstFailed.Task.WaitAsync(Timeout);
        queue.Add(2);

        Assert.Equal(2, await later.Task.WaitAsync(Timeout));
        Assert.Equal([1], failed);
    }
}

using AgentApi.Lanes;

namespace AgentApi.Benchmarks;

/// <summary>
/// Counts finished work items down and completes <see cref="Done"/> when the last one finishes.
/// The dispatch benchmarks all detect their end this way, so the detection costs the same in each.
/// </summary>
internal sealed class CompletionCounter
{
    private int _remaining;
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Done => _done.Task;

    public void Reset(int count)
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _remaining, count);
    }

    public void Signal()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.TrySetResult();
        }
    }
}

/// <summary>
/// A dispatcher item whose work completes synchronously and does nothing but count. The baselines
/// call <see cref="Run"/> on the same objects, so every mechanism runs the same work per item.
/// </summary>
internal sealed class NoOpLaneItem(string lane, string? sessionKey, CompletionCounter counter)
    : LaneWorkItem(lane, sessionKey, LanePriority.Default, CancellationToken.None)
{
    public override string Id => "no-op";

    public ValueTask<bool> Run()
    {
        counter.Signal();
        return ValueTask.FromResult(true);
    }

    protected override ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken) => Run();
}

/// <summary>A dispatcher item that waits <paramref name="delay"/> on the system clock, then counts.</summary>
internal sealed class DelayLaneItem(string lane, TimeSpan delay, CompletionCounter counter)
    : LaneWorkItem(lane, sessionKey: null, LanePriority.Default, CancellationToken.None)
{
    public override string Id => "delay";

    protected override async ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
    {
        await Task.Delay(delay, shutdownToken).ConfigureAwait(false);
        counter.Signal();
        return true;
    }
}

namespace AgentApi.Lanes;

/// <summary>
/// A function that runs in a lane and hands back its result: for work a running item starts and
/// waits for, such as a supervisor's synthesis step.
/// </summary>
public sealed class LaneCall<TResult> : LaneWorkItem
{
    private readonly Func<CancellationToken, Task<TResult>> _call;
    private readonly TaskCompletionSource<TResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LaneCall(string lane, string id, LanePriority priority, Func<CancellationToken, Task<TResult>> call, CancellationToken cancellationToken)
        : base(lane, sessionKey: null, priority, cancellationToken)
    {
        Id = id;
        _call = call;
    }

    public override string Id { get; }

    /// <summary>
    /// The function's result. When the item leaves its lane without running, the task is
    /// cancelled, or faults with <see cref="InstanceStoppingException"/> when the dispatcher
    /// handed it back at shutdown, so that its holder goes back to its queue instead of failing.
    /// </summary>
    public Task<TResult> Result => _result.Task;

    protected internal override async ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, shutdownToken);
        try
        {
            _result.TrySetResult(await _call(linked.Token));
            return true;
        }
        catch (OperationCanceledException exception)
        {
            _result.TrySetCanceled(exception.CancellationToken);
            return false;
        }
        catch (Exception exception)
        {
            _result.TrySetException(exception);
            return false;
        }
    }

    protected internal override void OnRemoved(LaneRemovalReason reason)
    {
        if (reason == LaneRemovalReason.Shutdown)
        {
            _result.TrySetException(new InstanceStoppingException(
                $"The instance stopped before '{Id}' started in lane '{Lane}'; it runs with its holder's next attempt."));
            return;
        }

        _result.TrySetCanceled(CancellationToken.IsCancellationRequested ? CancellationToken : new CancellationToken(canceled: true));
    }
}

using AgentApi.Lanes;

namespace AgentApi.Tasks;

/// <summary>A task waiting in, or running in, its lane on this instance.</summary>
internal sealed class TaskWorkItem : LaneWorkItem, IDisposable
{
    private readonly TaskRunner _runner;
    private readonly CancellationTokenSource _linked;

    public TaskWorkItem(
        AgentTask task,
        TaskRunner runner,
        CancellationTokenSource cancellation,
        CancellationTokenSource deadline,
        LanePriority priority)
        : this(task, runner, cancellation, deadline, priority, CancellationTokenSource.CreateLinkedTokenSource(cancellation.Token, deadline.Token))
    {
    }

    private TaskWorkItem(
        AgentTask task,
        TaskRunner runner,
        CancellationTokenSource cancellation,
        CancellationTokenSource deadline,
        LanePriority priority,
        CancellationTokenSource linked)
        : base(task.Lane, task.SessionKey, priority, linked.Token)
    {
        Task = task;
        _runner = runner;
        Cancellation = cancellation;
        Deadline = deadline;
        _linked = linked;
    }

    /// <summary>The task as it was when this instance took it, with the lease token of that claim.</summary>
    public AgentTask Task { get; }

    /// <summary>Fires on a cancel request.</summary>
    public CancellationTokenSource Cancellation { get; }

    /// <summary>Fires at the task's deadline, which covers waiting and running.</summary>
    public CancellationTokenSource Deadline { get; }

    public override string Id => Task.Id.ToString();

    /// <summary>Completes when the work has ended, one way or another.</summary>
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _linked.Dispose();
        Cancellation.Dispose();
        Deadline.Dispose();
    }

    protected internal override async ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
    {
        try
        {
            return await _runner.RunAttemptAsync(this, shutdownToken);
        }
        finally
        {
            Completion.TrySetResult();
        }
    }

    protected internal override void OnRemoved(LaneRemovalReason reason)
    {
        _runner.OnRemovedFromLane(this, reason);
        Completion.TrySetResult();
    }
}

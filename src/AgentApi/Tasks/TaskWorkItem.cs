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

    /// <summary>Creates the item with its deadline, which covers waiting and running and counts from the task's creation.</summary>
    public static TaskWorkItem Create(AgentTask task, TaskRunner runner, TimeProvider timeProvider, Agents.TokenBudget? budget, Task? stored = null)
    {
        var remaining = task.CreatedAt + TimeSpan.FromSeconds(task.TimeoutSeconds) - timeProvider.GetUtcNow();
        return new TaskWorkItem(
            task,
            runner,
            new CancellationTokenSource(),
            new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, timeProvider),
            ToLanePriority(task.Priority))
        {
            Budget = budget,
            Stored = stored,
        };
    }

    /// <summary>The task as it was when this instance took it, with the lease token of that claim.</summary>
    public AgentTask Task { get; }

    /// <summary>Fires on a cancel request.</summary>
    public CancellationTokenSource Cancellation { get; }

    /// <summary>Fires at the task's deadline, which covers waiting and running.</summary>
    public CancellationTokenSource Deadline { get; }

    public override string Id => Task.Id.ToString();

    /// <summary>The token budget of the task's tree, shared with its parent; null for a root task, which makes its own.</summary>
    public Agents.TokenBudget? Budget { get; init; }

    /// <summary>
    /// The insert of a new child, which may run before its row is committed. The attempt's writes
    /// wait for it. Null when the task was stored before this item was made.
    /// </summary>
    public Task? Stored { get; init; }

    /// <summary>Records the running attempt's model and tool calls; set when the attempt starts.</summary>
    internal AttemptObserver? Observer { get; set; }

    /// <summary>The task as its attempt last stored it, once it has finished here; null otherwise.</summary>
    public AgentTask? Outcome { get; set; }

    /// <summary>
    /// Whether a successful attempt may give its lane slot back before its outcome is stored.
    /// Only when no later task continues its transcript: a task of a shared session must be
    /// stored before the next one of that session reads the history.
    /// </summary>
    public bool MayFinishOutsideLane => Task.TranscriptKey is not { } key || Agents.SessionKeys.IsSubagent(key);

    /// <summary>
    /// Whether the attempt may call its model before the write that marks it running is saved: a
    /// child in a subagent session, which only its parent's process cancels, and which may also
    /// finish outside the lane.
    /// </summary>
    public bool StartsWithoutWaiting => Task.ParentId is not null && MayFinishOutsideLane;

    /// <summary>Whether the lane handed this item back unstarted because the instance is stopping.</summary>
    public bool HandedBackAtShutdown { get; private set; }

    /// <summary>
    /// The write that stores a success after the attempt gave back its slot, or null. Its result is
    /// whether the task was stored as succeeded.
    /// </summary>
    internal Task<bool>? Finishing { get; set; }

    /// <summary>
    /// Set by the attempt when the write that marks the task running finds it must not run (already
    /// finished, or cancelled), so that its lane counts it as never started.
    /// </summary>
    internal bool StartRejected { get; set; }

    /// <summary>Completes when the work has ended and its outcome is stored, one way or another.</summary>
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static LanePriority ToLanePriority(TaskPriority priority) => priority switch
    {
        TaskPriority.High => LanePriority.High,
        TaskPriority.Low => LanePriority.Low,
        _ => LanePriority.Default,
    };

    public void Dispose()
    {
        _linked.Dispose();
        Cancellation.Dispose();
        Deadline.Dispose();
    }

    /// <summary>
    /// Runs the task's attempt. A task whose start write finds it must not run
    /// (<see cref="StartRejected"/>) is reported as not started, so the lane counts it neither
    /// completed nor failed. Once the attempt has started, the lane counts it as completed only
    /// when the attempt stored the task as succeeded. Any other end counts as failed, including a
    /// task stored as cancelled or timed out while it ran and an attempt that stored no final
    /// status (shutdown, lost lease, storage failure). A task that may finish outside the lane
    /// (<see cref="MayFinishOutsideLane"/>) returns once its model replies and defers its outcome
    /// to the write that stores the reply.
    /// </summary>
    protected internal override async ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
    {
        try
        {
            return await _runner.RunAttemptAsync(this, shutdownToken);
        }
        finally
        {
            if (StartRejected)
            {
                ReportNotStarted();
            }

            if (Finishing is { } finishing)
            {
                DeferOutcome(finishing);
                _ = finishing.ContinueWith(
                    static (_, state) => ((TaskWorkItem)state!).Completion.TrySetResult(),
                    this,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
            else
            {
                Completion.TrySetResult();
            }
        }
    }

    protected internal override void OnRemoved(LaneRemovalReason reason)
    {
        HandedBackAtShutdown = reason == LaneRemovalReason.Shutdown;

        // Completes once the removal is stored, so whoever waits for the item (a parent waiting
        // for its child) reads the final state.
        _ = _runner.OnRemovedFromLane(this, reason).ContinueWith(
            static (_, state) => ((TaskWorkItem)state!).Completion.TrySetResult(),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}

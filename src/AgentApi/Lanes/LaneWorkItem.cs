namespace AgentApi.Lanes;

/// <summary>
/// A piece of work that waits in a lane and runs when the lane gives it a slot. Subclasses define
/// the work, and the dispatcher decides when it starts.
/// </summary>
public abstract class LaneWorkItem
{
    private const int StateWaiting = 0;
    private const int StateRunning = 1;
    private const int StateRemoved = 2;

    private int _state;
    private bool _rateLimited;

    protected LaneWorkItem(string lane, string? sessionKey, LanePriority priority, CancellationToken cancellationToken)
    {
        Lane = lane;
        SessionKey = sessionKey;
        Priority = priority;
        CancellationToken = cancellationToken;
    }

    public string Lane { get; }

    /// <summary>Work with the same session key runs one at a time, in the order it was scheduled.</summary>
    public string? SessionKey { get; }

    public LanePriority Priority { get; }

    /// <summary>Cancels the item: while it waits, it leaves the lane; while it runs, the work receives it.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Whether the item may still start once the dispatcher is stopping, when it is scheduled for
    /// a running holder that waits for it. It then starts at once, outside its lane's limit, so
    /// that the holder can finish within the grace period, as a synthesis step lets its supervisor finish.
    /// </summary>
    public bool RunsDuringGrace { get; init; }

    /// <summary>
    /// Set by running work while it waits for a model's rate limit permit, so the lane can report
    /// that its slots are held by work that waits on a provider rather than on the lane.
    /// </summary>
    public bool IsRateLimited
    {
        get => Volatile.Read(ref _rateLimited);
        set => Volatile.Write(ref _rateLimited, value);
    }

    /// <summary>A short id for logs, such as the task id.</summary>
    public abstract string Id { get; }

    internal long Sequence { get; set; }

    /// <summary>When the item was scheduled, in <see cref="LaneClock"/> milliseconds.</summary>
    internal long EnqueuedAtMs { get; set; }

    internal bool InSessionPending { get; set; }

    internal bool WaitLogged { get; set; }

    /// <summary>True when the item runs on the slot of the item that waits for it.</summary>
    internal bool Borrowed { get; set; }

    internal CancellationTokenRegistration CancellationRegistration { get; set; }


    internal bool IsWaiting => Volatile.Read(ref _state) == StateWaiting;

    /// <summary>Whether a runner has started the item.</summary>
    internal bool IsStarted => Volatile.Read(ref _state) == StateRunning;

    /// <summary>The outcome that <see cref="DeferOutcome"/> handed over, or null. Read by the dispatcher once <see cref="ExecuteAsync"/> has returned.</summary>
    internal Task<bool>? DeferredOutcome { get; private set; }

    /// <summary>Whether <see cref="ReportNotStarted"/> was called. Read by the dispatcher once <see cref="ExecuteAsync"/> has returned.</summary>
    internal bool DidNotStart { get; private set; }

    /// <summary>
    /// Runs the work and returns whether it succeeded. <paramref name="shutdownToken"/> fires when
    /// the dispatcher's shutdown grace period ends.
    /// </summary>
    protected internal abstract ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken);

    /// <summary>
    /// Hands the lane an outcome that is settled after <see cref="ExecuteAsync"/> returns. The item
    /// gives back its slot when ExecuteAsync returns, and its run time ends there. The lane counts
    /// it as completed when <paramref name="outcome"/> returns true, and as failed when it returns
    /// false, faults or is cancelled. Call it from ExecuteAsync before it returns. Whatever
    /// ExecuteAsync then returns or throws is not counted, though an exception is still logged.
    /// The dispatcher's StopAsync waits for deferred outcomes within the grace period it gives
    /// running work.
    /// </summary>
    /// <exception cref="InvalidOperationException">The item has already deferred its outcome or reported that it did not start.</exception>
    protected void DeferOutcome(Task<bool> outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (DeferredOutcome is not null)
        {
            throw new InvalidOperationException($"Work {Id} has already deferred its outcome, and DeferOutcome may be called only once per item.");
        }

        if (DidNotStart)
        {
            throw new InvalidOperationException($"Work {Id} has reported that it did not start, so it has no outcome to defer.");
        }

        DeferredOutcome = outcome;
    }

    /// <summary>
    /// Reports that the work found, after the lane gave it a slot, that it must not run, for example
    /// because it was cancelled elsewhere meanwhile. The lane then counts the item like a removed
    /// one: not as started, completed or failed, and not in <c>agentapi.lane.finished</c> or the run
    /// time. The wait that the lane recorded when it gave the item its slot stays in the wait times.
    /// Call it from ExecuteAsync before it returns.
    /// Whatever ExecuteAsync then returns or throws is not counted, though an exception is still
    /// logged. <see cref="OnRemoved"/> is not called. Calling it again has no further effect.
    /// </summary>
    /// <exception cref="InvalidOperationException">The item has already deferred its outcome.</exception>
    protected void ReportNotStarted()
    {
        if (DeferredOutcome is not null)
        {
            throw new InvalidOperationException($"Work {Id} has already deferred its outcome, so it cannot report that it did not start.");
        }

        DidNotStart = true;
    }

    /// <summary>Called once, outside the dispatcher's locks, when the item leaves its lane without starting.</summary>
    protected internal virtual void OnRemoved(LaneRemovalReason reason)
    {
    }

    internal bool TryMarkRunning() => Interlocked.CompareExchange(ref _state, StateRunning, StateWaiting) == StateWaiting;

    internal bool TryMarkRemoved() => Interlocked.CompareExchange(ref _state, StateRemoved, StateWaiting) == StateWaiting;
}

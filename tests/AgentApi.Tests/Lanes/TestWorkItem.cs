using AgentApi.Lanes;

namespace AgentApi.Tests.Lanes;

/// <summary>
/// A work item for dispatcher tests. A gated item waits inside <c>ExecuteAsync</c> until the test
/// calls <see cref="ReleaseAsync"/>, an item with a body runs the body, and any other item finishes
/// at once. An item made with a deferred outcome hands it to the lane before ExecuteAsync returns,
/// and one made with <c>reportsNotStarted</c> reports there that it did not start.
/// Starts, removals and the shutdown token it was given are recorded for assertions.
/// </summary>
internal sealed class TestWorkItem : LaneWorkItem
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<LaneRemovalReason> _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Synchronous continuations on purpose: ReleaseAsync completes the gate on a pool thread, and
    // the item and the dispatcher's runner continue inline there. So when ReleaseAsync returns, the
    // runner has already taken its next item or exited.
    private readonly TaskCompletionSource<bool> _gate = new();

    private readonly Func<TestWorkItem, CancellationToken, Task<bool>>? _body;
    private readonly Task<bool>? _deferredOutcome;
    private readonly bool _reportsNotStarted;
    private readonly bool _gated;
    private readonly StartRecorder? _recorder;
    private readonly Lock _removalsSync = new();
    private readonly List<LaneRemovalReason> _removals = [];
    private int _startCount;
    private CancellationToken _shutdownToken;

    public TestWorkItem(
        string id,
        string lane = LaneDispatcherTests.Lane,
        string? sessionKey = null,
        LanePriority priority = LanePriority.Default,
        CancellationToken cancellationToken = default,
        bool gated = false,
        Func<TestWorkItem, CancellationToken, Task<bool>>? body = null,
        StartRecorder? recorder = null,
        Task<bool>? deferredOutcome = null,
        bool reportsNotStarted = false)
        : base(lane, sessionKey, priority, cancellationToken)
    {
        Id = id;
        _gated = gated;
        _body = body;
        _recorder = recorder;
        _deferredOutcome = deferredOutcome;
        _reportsNotStarted = reportsNotStarted;
    }

    public override string Id { get; }

    /// <summary>Completes when <c>ExecuteAsync</c> is entered for the first time.</summary>
    public Task Started => _started.Task;

    /// <summary>The result <c>ExecuteAsync</c> returned, or its exception.</summary>
    public Task<bool> Finished => _finished.Task;

    /// <summary>Completes with the reason of the first <c>OnRemoved</c> call.</summary>
    public Task<LaneRemovalReason> Removed => _removed.Task;

    public bool HasStarted => StartCount > 0;

    public int StartCount => Volatile.Read(ref _startCount);

    /// <summary>The shutdown token the dispatcher passed to <c>ExecuteAsync</c>, or default before the item starts.</summary>
    public CancellationToken ShutdownToken => _shutdownToken;

    public IReadOnlyList<LaneRemovalReason> Removals
    {
        get
        {
            lock (_removalsSync)
            {
                return [.. _removals];
            }
        }
    }

    /// <summary>Lets a gated item finish with <paramref name="succeeded"/>, and returns once the runner behind it has moved on.</summary>
    public Task ReleaseAsync(bool succeeded = true) => Task.Run(() => _gate.TrySetResult(succeeded));

    // AgentApi grants this assembly its internals, so C# requires the overrides to stay
    // protected internal. A subclass in any other assembly writes protected override.
    protected internal override async ValueTask<bool> ExecuteAsync(CancellationToken shutdownToken)
    {
        _shutdownToken = shutdownToken;
        Interlocked.Increment(ref _startCount);
        _recorder?.Enter(Id);
        _started.TrySetResult();

        bool succeeded;
        try
        {
            if (_body is not null)
            {
                succeeded = await _body(this, shutdownToken).ConfigureAwait(false);
            }
            else if (_gated)
            {
                succeeded = await _gate.Task.ConfigureAwait(false);
            }
            else
            {
                succeeded = true;
            }
        }
        catch (Exception exception)
        {
            _recorder?.Exit();
            _finished.TrySetException(exception);
            throw;
        }

        if (_deferredOutcome is not null)
        {
            DeferOutcome(_deferredOutcome);
        }

        if (_reportsNotStarted)
        {
            ReportNotStarted();
        }

        _recorder?.Exit();
        _finished.TrySetResult(succeeded);
        return succeeded;
    }

    protected internal override void OnRemoved(LaneRemovalReason reason)
    {
        lock (_removalsSync)
        {
            _removals.Add(reason);
        }

        _removed.TrySetResult(reason);
    }
}

/// <summary>Start order and maximum concurrency of the items that share it.</summary>
internal sealed class StartRecorder
{
    private readonly Lock _sync = new();
    private readonly List<string> _order = [];
    private int _current;
    private int _max;

    public IReadOnlyList<string> Order
    {
        get
        {
            lock (_sync)
            {
                return [.. _order];
            }
        }
    }

    /// <summary>The maximum number of items inside <c>ExecuteAsync</c> at the same time.</summary>
    public int MaxConcurrent
    {
        get
        {
            lock (_sync)
            {
                return _max;
            }
        }
    }

    public void Enter(string id)
    {
        lock (_sync)
        {
            _order.Add(id);
            _current++;
            _max = Math.Max(_max, _current);
        }
    }

    public void Exit()
    {
        lock (_sync)
        {
            _current--;
        }
    }
}

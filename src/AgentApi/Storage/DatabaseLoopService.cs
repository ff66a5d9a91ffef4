namespace AgentApi.Storage;

/// <summary>
/// A background service whose loop talks to the database. Its stop returns when the host's stop
/// token fires instead of waiting for a database call that hangs (see <see cref="HostedStop"/>).
/// </summary>
/// <remarks>
/// After a timed-out stop, the disposal cancels the loop's token on a pool thread. The stop
/// cancels that token on a pool thread too, but when the pool is short of threads, because each
/// is blocked in such a cancellation, that may not have run yet when the host disposes its
/// services. The disposal would then run the cancellation callbacks on the host's thread, and
/// against a hung database each one delays the process's exit by Npgsql's connect timeout.
/// </remarks>
public abstract class DatabaseLoopService : BackgroundService
{
    private volatile bool _stopTimedOut;

    /// <summary>The logger that reports a timed-out stop.</summary>
    protected abstract ILogger StopLogger { get; }

    public override async Task StopAsync(CancellationToken cancellationToken) =>
        _stopTimedOut = !await HostedStop.StopWithinTimeoutAsync(base.StopAsync, GetType().Name, StopLogger, cancellationToken);

    public override void Dispose()
    {
        HostedStop.DisposeAfterStop(base.Dispose, _stopTimedOut);
        GC.SuppressFinalize(this);
    }
}

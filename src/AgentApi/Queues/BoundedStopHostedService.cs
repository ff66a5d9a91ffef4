using AgentApi.Storage;

namespace AgentApi.Queues;

/// <summary>
/// Wraps a hosted service whose StopAsync throws once the host's stop token fires, such as
/// Hangfire's server, which waits for its workers with that token. Against a hung database
/// the workers never finish, and the exception would end the process with a crash instead of
/// a clean exit. The wrapper logs the timeout and returns instead. After such a timeout it also
/// leaves the service's disposal to a pool thread, because Hangfire's disposal waits for the
/// same workers again before it gives up.
/// </summary>
internal sealed class BoundedStopHostedService(IHostedService inner, string name, ILogger<BoundedStopHostedService> logger)
    : IHostedService, IDisposable
{
    private volatile bool _stopTimedOut;

    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var stopped = await HostedStop.StopWithinTimeoutAsync(inner.StopAsync, name, logger, cancellationToken);
        _stopTimedOut = !stopped;
    }

    public void Dispose()
    {
        if (inner is IDisposable disposable)
        {
            HostedStop.DisposeAfterStop(disposable.Dispose, _stopTimedOut);
        }
    }
}

using Hangfire.AspNetCore;
using Hangfire.Logging;

namespace AgentApi.Queues;

/// <summary>
/// Hangfire's log provider is process-wide, but each host has its own logger factory. When more
/// than one host runs in a process (integration tests) and the host that set the provider stops,
/// Hangfire would fail to create loggers. This provider then returns a logger that drops messages.
/// </summary>
internal sealed class HostLogProvider(ILoggerFactory loggerFactory) : ILogProvider
{
    private readonly AspNetCoreLogProvider _inner = new(loggerFactory);

    public ILog GetLogger(string name)
    {
        try
        {
            return _inner.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return DroppingLog.Instance;
        }
    }

    private sealed class DroppingLog : ILog
    {
        public static readonly DroppingLog Instance = new();

        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
    }
}

using Microsoft.Extensions.Logging;

namespace AgentApi.HubBenchmark;

/// <summary>
/// A logger provider that counts what the dashboard broadcast reports: events it dropped because
/// it fell behind by its whole buffer (event id 8002), and group sends that failed (8003).
/// </summary>
internal sealed class BroadcastWarnings : ILoggerProvider, ILogger
{
    private const int DroppedEventId = 8002;
    private const int FailedEventId = 8003;

    private long _dropped;
    private long _failedSends;

    public long Dropped => Interlocked.Read(ref _dropped);

    public long FailedSends => Interlocked.Read(ref _failedSends);

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == FailedEventId)
        {
            Interlocked.Increment(ref _failedSends);
            return;
        }

        if (eventId.Id != DroppedEventId || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            return;
        }

        foreach (var (key, value) in values)
        {
            if (key == "Dropped" && value is long dropped)
            {
                Interlocked.Add(ref _dropped, dropped);
            }
        }
    }

    public void Dispose()
    {
    }
}

namespace AgentApi.Events;

/// <summary>Log messages of live event delivery; event ids 8001–8099.</summary>
internal static partial class EventsLog
{
    [LoggerMessage(8001, LogLevel.Warning,
        "Streaming the events of task {TaskId} to hub connection '{ConnectionId}' failed.")]
    public static partial void StreamFailed(ILogger logger, Guid taskId, string connectionId, Exception exception);

    [LoggerMessage(8002, LogLevel.Warning,
        "The dashboard broadcast fell behind by {Capacity} events and dropped {Dropped} events; SubscribeAll and SubscribeAllBatched clients missed them.")]
    public static partial void BroadcastDropped(ILogger logger, int capacity, long dropped);

    [LoggerMessage(8003, LogLevel.Warning, "Broadcasting task events to SubscribeAll or SubscribeAllBatched clients failed.")]
    public static partial void BroadcastFailed(ILogger logger, Exception exception);

    [LoggerMessage(8004, LogLevel.Information, "Listening for task events of other instances on channel '{Channel}'.")]
    public static partial void RelayListening(ILogger logger, string channel);

    [LoggerMessage(8005, LogLevel.Warning,
        "The link to other instances' task events was lost; reconnecting in {DelayMs} ms. Readers catch up from storage once it is back.")]
    public static partial void RelayListenFailed(ILogger logger, long delayMs, Exception exception);

    [LoggerMessage(8006, LogLevel.Warning,
        "Passing {Count} task events between instances failed; readers catch up from storage on the next event of each task.")]
    public static partial void RelaySendFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(8007, LogLevel.Warning, "A task event notification from another instance could not be read and was skipped.")]
    public static partial void RelayBadPayload(ILogger logger, Exception exception);

    [LoggerMessage(8008, LogLevel.Warning,
        "Passing an API key change between instances failed; other instances keep their key list until the next change or reconnect.")]
    public static partial void KeyNoticeFailed(ILogger logger, Exception exception);

    [LoggerMessage(8009, LogLevel.Debug, "Hub method '{Method}' rejected a call from connection '{ConnectionId}': {Reason}")]
    public static partial void HubCallRejected(ILogger logger, string method, string connectionId, string reason);

    [LoggerMessage(8011, LogLevel.Warning,
        "Connection '{ConnectionId}' fell behind on task events and was closed: {Reason}. Its client may reconnect and read the current state again.")]
    public static partial void SlowClientClosed(ILogger logger, string connectionId, string reason);

    [LoggerMessage(8010, LogLevel.Error, "Hub method '{Method}' failed for connection '{ConnectionId}'.")]
    public static partial void HubCallFailed(ILogger logger, string method, string connectionId, Exception exception);
}

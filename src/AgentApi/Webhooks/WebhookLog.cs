namespace AgentApi.Webhooks;

/// <summary>Log messages of webhook delivery; event ids 8101–8199.</summary>
internal static partial class WebhookLog
{
    [LoggerMessage(8101, LogLevel.Information,
        "Webhook of task {TaskId} delivered on attempt {Attempt} with status {StatusCode} in {DurationMs} ms.")]
    public static partial void Delivered(ILogger logger, Guid taskId, int attempt, int statusCode, long durationMs);

    [LoggerMessage(8102, LogLevel.Warning,
        "Webhook of task {TaskId} failed on attempt {Attempt} of {MaxAttempts}: {Error}. Next attempt in {RetryInMs} ms.")]
    public static partial void Failed(ILogger logger, Guid taskId, int attempt, int maxAttempts, string error, long? retryInMs);

    [LoggerMessage(8103, LogLevel.Error,
        "The webhook delivery of task {TaskId} could not be queued, so it will not be sent.")]
    public static partial void EnqueueFailed(ILogger logger, Guid taskId, Exception exception);

    [LoggerMessage(8104, LogLevel.Warning,
        "Recording webhook attempt {Attempt} of task {TaskId} in its events failed.")]
    public static partial void RecordFailed(ILogger logger, Guid taskId, int attempt, Exception exception);
}

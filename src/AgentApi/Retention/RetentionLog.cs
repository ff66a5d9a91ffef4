namespace AgentApi.Retention;

/// <summary>Log messages of the retention purge; event ids 8301–8399.</summary>
internal static partial class RetentionLog
{
    [LoggerMessage(8301, LogLevel.Information, "Retention deleted {Count} finished task trees and {FailedJobs} failed Hangfire jobs that ended before {Cutoff}.")]
    public static partial void Purged(ILogger logger, int count, int failedJobs, DateTimeOffset cutoff);
}

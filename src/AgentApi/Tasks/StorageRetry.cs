using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Polly;
using Polly.Retry;

namespace AgentApi.Tasks;

/// <summary>Retries a task's own writes through a short database outage, so a reached outcome is not lost.</summary>
internal static class StorageRetry
{
    public static ResiliencePipeline Create(TimeProvider timeProvider) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                // About a minute in all: 0.25 s doubling to at most 10 s, with jitter.
                MaxRetryAttempts = 10,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(10),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsStorageFailure),
            })
            .Build();

    /// <summary>
    /// Returns whether the database could not be reached or could not save for now. The database
    /// errors are looked for in the whole chain of inner exceptions, because EF Core's execution
    /// strategy wraps a dropped connection as an InvalidOperationException around a
    /// DbUpdateException around the PostgresException. A write the database rejects for its data
    /// (PostgreSQL classes 22 and 23, such as a value too long) is not one, because retrying it
    /// cannot help and treating it as an outage would leave its task running.
    /// </summary>
    public static bool IsStorageFailure(Exception exception) =>
        !IsRejectedData(exception)
        && (exception is TimeoutException
            || SelfAndInner(exception).Any(inner => inner is DbException or DbUpdateException or RetryLimitExceededException));

    /// <summary>Returns whether PostgreSQL rejected the data itself (classes 22 and 23), anywhere in the chain of inner exceptions.</summary>
    public static bool IsRejectedData(Exception exception) =>
        SelfAndInner(exception).OfType<Npgsql.PostgresException>().FirstOrDefault() is { SqlState: ['2', '2' or '3', ..] };

    private static IEnumerable<Exception> SelfAndInner(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}

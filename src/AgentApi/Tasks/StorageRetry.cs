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

    public static bool IsStorageFailure(Exception exception) =>
        exception is DbException or DbUpdateException or RetryLimitExceededException or TimeoutException
        || exception.InnerException is DbException;
}

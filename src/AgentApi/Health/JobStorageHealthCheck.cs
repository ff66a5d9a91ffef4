using Hangfire;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentApi.Health;

/// <summary>Ready when a query to Hangfire's storage succeeds.</summary>
internal sealed class JobStorageHealthCheck(JobStorage storage) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Hangfire's storage API is synchronous; the probe runs off the request thread.
        return Task.Run(() =>
        {
            using var connection = storage.GetConnection();
            _ = connection.GetAllItemsFromSet("recurring-jobs");
            return HealthCheckResult.Healthy();
        }, cancellationToken);
    }
}

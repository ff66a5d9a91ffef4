using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace AgentApi.Errors;

/// <summary>
/// Returns <c>503 Service Unavailable</c> with <c>Retry-After</c> when the database or Hangfire's
/// storage cannot be reached. Clients then try again instead of treating the failure as a bug.
/// </summary>
internal sealed partial class StorageUnavailableExceptionHandler(
    IProblemDetailsService problemDetails,
    ILogger<StorageUnavailableExceptionHandler> logger) : IExceptionHandler
{
    private const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsStorageUnavailable(exception))
        {
            return false;
        }

        StorageUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.GetType().Name);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Storage unavailable",
                Detail = $"The database cannot be reached right now, so nothing was changed. Try again in {RetryAfterSeconds} seconds.",
            },
        });
    }

    /// <summary>
    /// Returns whether the exception means the storage could not be reached. Data that
    /// PostgreSQL rejects is a bug in validation, not an outage, so it stays a logged 500.
    /// </summary>
    internal static bool IsStorageUnavailable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (AgentApi.Tasks.StorageRetry.IsRejectedData(current))
            {
                return false;
            }

            if (current is DbException or Hangfire.BackgroundJobClientException or RetryLimitExceededException
                || (current is InvalidOperationException && current.InnerException is DbException)
                || (current is TimeoutException && current.Source?.StartsWith("Npgsql", StringComparison.Ordinal) == true))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(5001, LogLevel.Warning, "{Method} {Path} failed because the storage is unavailable ({ExceptionType}); the response is 503.")]
    private static partial void StorageUnavailable(ILogger logger, string method, string path, string exceptionType);
}

using Microsoft.AspNetCore.Diagnostics;

namespace AgentApi.Queues;

/// <summary>
/// Hangfire's dashboard throws on some malformed input (a job id that is not a number, a stats
/// request without a form body). Those become a 400 instead of a 500.
/// </summary>
internal sealed class DashboardBadRequestHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!httpContext.Request.Path.StartsWithSegments("/hangfire")
            || exception is not (FormatException or OverflowException or InvalidOperationException))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails =
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "Bad dashboard request",
                Detail = "The Hangfire dashboard could not read this request; check the job id or use the dashboard's own links.",
            },
        });
    }
}

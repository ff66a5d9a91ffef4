using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace AgentApi.Security;

/// <summary>
/// Limits the requests to <c>/api</c> and <c>/hubs</c> per key, so that one client cannot starve
/// the others. A request over the limit gets <c>429</c> with <c>Retry-After</c>.
/// </summary>
/// <remarks>
/// NOTE: the windows run on System.Threading.RateLimiting's own timer, not on the injected
/// TimeProvider, and limits hold per instance.
/// </remarks>
public static class RateLimiting
{
    public static IServiceCollection AddKeyRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>() ?? new RateLimitOptions();
        if (options.PermitsPerWindow < 0 || options.Window <= TimeSpan.Zero)
        {
            throw new InvalidOperationException(
                $"RateLimits:PermitsPerWindow is {options.PermitsPerWindow} and RateLimits:Window is {options.Window}; use 0 or more permits and a window longer than 0.");
        }

        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var path = context.Request.Path;
                if (options.PermitsPerWindow == 0 || !(path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs")))
                {
                    return RateLimitPartition.GetNoLimiter(string.Empty);
                }

                var partition = context.User.Identity?.IsAuthenticated == true
                    ? "key:" + context.User.Identity.Name
                    : "address:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.PermitsPerWindow,
                    Window = options.Window,
                    QueueLimit = 0,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : options.Window;
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = $"This key made more than {options.PermitsPerWindow} requests in {options.Window.TotalSeconds:0.###} s (RateLimits:PermitsPerWindow); try again in {seconds} s.",
                    },
                });
            };
        });
        return services;
    }
}

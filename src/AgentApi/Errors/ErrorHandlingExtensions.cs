using System.Diagnostics;

namespace AgentApi.Errors;

public static class ErrorHandlingExtensions
{
    /// <summary>
    /// Makes every 4xx and 5xx an RFC 9457 problem details response, with the request's trace id,
    /// and turns unreadable request bodies into 400s that name the field.
    /// </summary>
    public static IServiceCollection AddErrorHandling(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RequestLimitsOptions>(configuration.GetSection(RequestLimitsOptions.SectionName));
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Extensions.TryAdd(
                "traceId",
                Activity.Current?.Id ?? context.HttpContext.TraceIdentifier);
        });
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    public static IApplicationBuilder UseErrorHandling(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        return app;
    }
}

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
            context.ProblemDetails.Detail ??= DefaultDetail(context.ProblemDetails, context.HttpContext);
            ProblemDefaults.Apply(context.ProblemDetails, context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode);
        });
        services.AddSingleton<IProblemDetailsWriter, FallbackProblemDetailsWriter>();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<StorageUnavailableExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>A sentence for responses that would otherwise carry no detail, so that every problem states what the client can do.</summary>
    private static string? DefaultDetail(Microsoft.AspNetCore.Mvc.ProblemDetails problem, HttpContext context) => problem.Status switch
    {
        StatusCodes.Status400BadRequest when problem is HttpValidationProblemDetails => "One or more fields are invalid; 'errors' lists each field with what is allowed.",
        StatusCodes.Status400BadRequest => "The request is malformed or failed a check, such as a missing or expired antiforgery token on a form.",
        StatusCodes.Status404NotFound => $"No endpoint or resource matches '{context.Request.Method} {context.Request.Path}'. The API is described at /swagger.",
        StatusCodes.Status405MethodNotAllowed => $"'{context.Request.Method}' is not allowed on '{context.Request.Path}'. The API is described at /swagger.",
        StatusCodes.Status413PayloadTooLarge => "The request body is larger than the limit set by Limits:MaxRequestBodyBytes.",
        StatusCodes.Status415UnsupportedMediaType => "Send the body as JSON with 'Content-Type: application/json'.",
        StatusCodes.Status500InternalServerError => "An unexpected error occurred; the service log has the details under the trace id.",
        _ => null,
    };

    public static IApplicationBuilder UseErrorHandling(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        return app;
    }
}

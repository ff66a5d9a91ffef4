using Microsoft.Extensions.Options;

namespace AgentApi.Errors;

/// <summary>
/// Writes problem details for requests whose <c>Accept</c> header names no JSON type, such as
/// <c>text/event-stream</c>. ASP.NET Core's own writer declines those, and the result then falls
/// back to a plain serialization without <see cref="ProblemDetailsOptions.CustomizeProblemDetails"/>,
/// so the body lost its <c>traceId</c> and default <c>detail</c>. Registered after the default
/// writer, so it writes only what that writer declines.
/// </summary>
internal sealed class FallbackProblemDetailsWriter(
    IOptions<ProblemDetailsOptions> problemOptions,
    IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> jsonOptions) : IProblemDetailsWriter
{
    private const string ContentType = "application/problem+json";

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);
        var problem = context.ProblemDetails;
        return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(
            problem,
            problem.GetType(),
            jsonOptions.Value.SerializerOptions,
            ContentType,
            context.HttpContext.RequestAborted));
    }
}

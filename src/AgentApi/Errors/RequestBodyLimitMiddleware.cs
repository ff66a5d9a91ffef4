using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace AgentApi.Errors;

/// <summary>
/// Applies <see cref="RequestLimitsOptions.MaxRequestBodyBytes"/>: a declared length over the limit
/// is rejected before the body is read, and the server's own limit stops a longer chunked body.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<RequestLimitsOptions> options)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problemDetails)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength > limit)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await problemDetails.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Title = "Request body too large",
                    Detail = $"The body is {context.Request.ContentLength} bytes; at most {limit} bytes are accepted (setting Limits:MaxRequestBodyBytes).",
                },
            });
            return;
        }

        await next(context);
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace AgentApi.Errors;

/// <summary>
/// Turns a request that could not be read (bad JSON, a wrong type, no body, a body over the limit)
/// into a problem details response that names the field at fault.
/// </summary>
internal sealed class BadRequestExceptionHandler(
    IProblemDetailsService problemDetails,
    IOptions<RequestLimitsOptions> limits) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        var status = badRequest.StatusCode;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status };

        var jsonException = FindJsonException(badRequest);
        if (status == StatusCodes.Status413PayloadTooLarge)
        {
            problem.Title = "Request body too large";
            problem.Detail = $"At most {limits.Value.MaxRequestBodyBytes} bytes are accepted (setting Limits:MaxRequestBodyBytes).";
        }
        else if (status == StatusCodes.Status415UnsupportedMediaType)
        {
            problem.Title = "Unsupported media type";
            problem.Detail = "Send the body as JSON with 'Content-Type: application/json'.";
        }
        else if (jsonException is not null)
        {
            var field = FieldName(jsonException.Path);
            var unknown = IsUnknownField(jsonException);
            problem = new Microsoft.AspNetCore.Http.HttpValidationProblemDetails(new Dictionary<string, string[]>
            {
                [field] = [unknown ? UnknownFieldMessage : DescribeJsonError(jsonException)],
            })
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request body is not valid JSON for this endpoint",
                Detail = unknown ? $"Field '{field}' is not a field of this request." : $"Field '{field}' could not be read.",
            };
        }
        else
        {
            problem.Title = "Bad request";
            problem.Detail = badRequest.Message.Contains("body", StringComparison.OrdinalIgnoreCase)
                ? "A JSON body is required."
                : badRequest.Message;
        }

        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status400BadRequest;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private const string UnknownFieldMessage =
        "Unknown field: check its spelling, or remove it. The request schema in Swagger UI lists the fields.";

    /// <summary>
    /// Whether System.Text.Json rejected a property the request type does not have, which the
    /// service's <c>JsonUnmappedMemberHandling.Disallow</c> makes an error. Recognised by
    /// System.Text.Json's message (10.0), which has no error code.
    /// </summary>
    private static bool IsUnknownField(JsonException exception) =>
        exception.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal);

    private static JsonException? FindJsonException(Exception exception)
    {
        for (var current = exception.InnerException; current is not null; current = current.InnerException)
        {
            if (current is JsonException json)
            {
                return json;
            }
        }

        return null;
    }

    /// <summary>Turns a JSON path such as <c>$.subtasks[0].input</c> into <c>subtasks[0].input</c>.</summary>
    private static string FieldName(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    private static string DescribeJsonError(JsonException exception)
    {
        // System.Text.Json messages name the expected type and the position; the value itself is
        // not repeated, so nothing the client sent is echoed back.
        var message = exception.Message;
        var pathIndex = message.IndexOf(" Path:", StringComparison.Ordinal);
        message = pathIndex > 0 ? message[..pathIndex] : message;

        // The service's own type names mean nothing to a client; the field name says enough.
        if (message.Contains("could not be converted to", StringComparison.Ordinal))
        {
            return "The value has the wrong type for this field; see the request schema in Swagger UI.";
        }

        var typeIndex = message.IndexOf(" during deserialization of type", StringComparison.Ordinal);
        return typeIndex > 0 ? message[..typeIndex] + "." : message;
    }
}

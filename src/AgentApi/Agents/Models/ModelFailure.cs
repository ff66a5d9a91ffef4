using System.ClientModel;
using System.Globalization;
using System.Net;
using Anthropic.Exceptions;

namespace AgentApi.Agents.Models;

/// <summary>What went wrong in a model call, and whether trying again can help.</summary>
/// <param name="IsTransient">Timeouts, 408, 429 and 5xx: worth another attempt.</param>
/// <param name="StatusCode">The HTTP status, when the provider answered.</param>
/// <param name="RetryAfter">The provider's <c>Retry-After</c>, when it sent one.</param>
/// <param name="ErrorType">The task error type: <c>rate_limited</c>, <c>model_unavailable</c>, <c>model_timeout</c> or <c>model_error</c>.</param>
/// <param name="Message">A message that is safe to store and show: no keys, no prompt.</param>
public sealed partial record ModelFailure(bool IsTransient, int? StatusCode, TimeSpan? RetryAfter, string ErrorType, string Message)
{
    /// <summary>Classifies an exception thrown by a model call, or returns null for one that is not a model failure.</summary>
    public static ModelFailure? From(Exception exception, CancellationToken callerToken)
    {
        switch (exception)
        {
            case ClientResultException clientResult:
                return FromStatus(clientResult.Status, ReadRetryAfter(clientResult), clientResult.Message);

            // Anthropic's exceptions carry no response headers; RetryAfterCapture supplies its Retry-After.
            case AnthropicApiException anthropic:
                return FromStatus((int)anthropic.StatusCode, retryAfter: null, anthropic.Message);

            case AnthropicIOException anthropicIo:
                return new ModelFailure(true, null, null, "model_unavailable", $"The model endpoint could not be reached: {anthropicIo.Message}");

            case HttpRequestException http:
                return http.StatusCode is { } status
                    ? FromStatus((int)status, retryAfter: null, http.Message)
                    : new ModelFailure(true, null, null, "model_unavailable", $"The model endpoint could not be reached: {http.Message}");

            // Not the model's doing: the attempt goes back to its queue instead.
            case Lanes.InstanceStoppingException:
                return null;

            case OperationCanceledException when !callerToken.IsCancellationRequested:
            case TimeoutException:
                return new ModelFailure(true, null, null, "model_timeout", "The model request timed out.");

            default:
                return null;
        }
    }

    private static ModelFailure FromStatus(int status, TimeSpan? retryAfter, string detail)
    {
        // A status of 0 means no HTTP response arrived at all.
        if (status == 0)
        {
            return new ModelFailure(true, null, retryAfter, "model_unavailable", $"The model endpoint could not be reached: {detail}");
        }

        var transient = status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests or >= 500;
        var type = status switch
        {
            (int)HttpStatusCode.TooManyRequests => "rate_limited",
            (int)HttpStatusCode.RequestTimeout => "model_timeout",
            >= 500 => "model_unavailable",
            _ => "model_error",
        };

        return new ModelFailure(transient, status, retryAfter, type, $"The model endpoint returned HTTP {status}: {Shorten(detail)}");
    }

    /// <summary>
    /// Keeps the provider's own explanation readable in one line and bounded, because it is
    /// stored on the task and some providers quote parts of the request in their errors.
    /// </summary>
    private static string Shorten(string detail)
    {
        const int maxLength = 200;

        // The first line names the status and the provider's error code. Later lines contain the
        // provider's prose, which may quote the request, so they are dropped.
        var firstLine = detail.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault() ?? string.Empty;
        var withoutStatus = StatusPrefix().Replace(firstLine, string.Empty).Trim();
        if (withoutStatus.StartsWith('(') && withoutStatus.EndsWith(')'))
        {
            withoutStatus = withoutStatus[1..^1];
        }

        var redacted = BearerToken().Replace(withoutStatus.Length == 0 ? firstLine : withoutStatus, "Bearer ***");
        return redacted.Length <= maxLength ? redacted : redacted[..maxLength] + "…";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^HTTP \d{3}\b")]
    private static partial System.Text.RegularExpressions.Regex StatusPrefix();

    [System.Text.RegularExpressions.GeneratedRegex(@"Bearer\s+\S+", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex BearerToken();

    private static TimeSpan? ReadRetryAfter(ClientResultException exception)
    {
        var response = exception.GetRawResponse();
        if (response is null || !response.Headers.TryGetValue("Retry-After", out var value) || value is null)
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        // The HTTP-date form is converted against the response's own Date header where present.
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            && response.Headers.TryGetValue("Date", out var sent)
            && DateTimeOffset.TryParse(sent, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var sentAt))
        {
            var delay = date - sentAt;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }

        return null;
    }
}

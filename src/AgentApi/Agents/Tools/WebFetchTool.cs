using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>web_fetch</c>: sends a GET request over http or https to a host on
/// <see cref="WebFetchToolOptions.AllowedHosts"/> and returns the text response. Redirects are
/// followed only to allowed hosts, the body is cut at <see cref="WebFetchToolOptions.MaxResponseBytes"/>,
/// and binary responses are rejected. With an empty allowlist, the default, every call is rejected.
/// </summary>
/// <remarks>
/// The allowlist names hosts, not addresses: an allowed name is fetched wherever DNS points it.
/// </remarks>
public sealed class WebFetchTool(
    IHttpClientFactory httpClientFactory,
    IOptions<ToolOptions> options,
    TimeProvider timeProvider,
    ILogger<WebFetchTool> logger) : IAgentTool
{
    /// <summary>Name of the <see cref="HttpClient"/> registered for this tool. It follows no redirects by itself.</summary>
    public const string HttpClientName = "AgentApi.Tools.WebFetch";

    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "url": { "type": "string", "description": "Absolute http or https URL on an allowed host." }
          },
          "required": ["url"],
          "additionalProperties": false
        }
        """);

    private readonly WebFetchToolOptions _options = options.Value.WebFetch;
    private readonly HostAllowlist _allowlist = new(options.Value.WebFetch.AllowedHosts);

    public string Name => ToolNames.WebFetch;

    public string Description =>
        _allowlist.IsEmpty
            ? "Fetches a web page with GET. No host is allowed in this deployment, so every call fails."
            : "Fetches a web page or text document with GET from one of these hosts: " +
              string.Join(", ", _options.AllowedHosts) +
              $". Returns the status, content type and text body, cut off after {_options.MaxResponseBytes / 1024} KiB.";

    public JsonElement ParametersSchema => Schema;

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var url = ToolArguments.GetRequiredString(arguments, "url");
        if (_allowlist.IsEmpty)
        {
            throw new ToolException("forbidden", "web_fetch is disabled because no host is allowed (the setting Tools:WebFetch:AllowedHosts is empty).");
        }

        var uri = ParseUrl(url);
        EnsureAllowed(uri, context, redirectedFrom: null);

        var started = timeProvider.GetTimestamp();
        using var timeoutSource = new CancellationTokenSource(_options.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            return await FetchAsync(uri, context, started, linked.Token);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            ToolLog.WebFetchFailed(logger, context.TaskId, context.AgentName, uri.Host, "timed out");
            throw new ToolException("timeout", $"Fetching '{url}' timed out after {_options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            // IOException: the connection broke while the body was read.
            ToolLog.WebFetchFailed(logger, context.TaskId, context.AgentName, uri.Host, exception.Message);
            throw new ToolException("request_failed", $"The request for '{url}' failed: {exception.Message}");
        }
    }

    private async Task<string> FetchAsync(Uri uri, ToolContext context, long started, CancellationToken cancellationToken)
    {
        var client = httpClientFactory.CreateClient(HttpClientName);
        var current = uri;
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (IsRedirect(response.StatusCode) && response.Headers.Location is { } location)
            {
                if (redirects == _options.MaxRedirects)
                {
                    throw new ToolException("too_many_redirects", $"'{uri}' redirected more than {_options.MaxRedirects} times.");
                }

                var next = location.IsAbsoluteUri ? location : new Uri(current, location);
                ValidateUrl(next, $"'{current}' redirected to '{next}', which");
                EnsureAllowed(next, context, redirectedFrom: current);
                current = next;
                continue;
            }

            var (body, bodyBytes, truncated) = await ReadBodyAsync(response, current, cancellationToken);
            ToolLog.WebFetchCompleted(
                logger,
                context.TaskId,
                context.AgentName,
                current.Host,
                (int)response.StatusCode,
                bodyBytes,
                (long)timeProvider.GetElapsedTime(started).TotalMilliseconds);
            return Format(current, response, body, truncated);
        }
    }

    private static Uri ParseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new ToolException("invalid_argument", $"'{url}' is not an absolute URL. Give one such as https://docs.example.com/page.");
        }

        ValidateUrl(uri, $"'{url}'");
        return uri;
    }

    private static void ValidateUrl(Uri uri, string subject)
    {
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ToolException("invalid_argument", $"{subject} uses the scheme '{uri.Scheme}'. Only http and https are supported.");
        }

        if (uri.UserInfo.Length > 0)
        {
            throw new ToolException("invalid_argument", $"{subject} contains user credentials, which web_fetch does not send.");
        }
    }

    private void EnsureAllowed(Uri uri, ToolContext context, Uri? redirectedFrom)
    {
        if (_allowlist.IsAllowed(uri))
        {
            return;
        }

        ToolLog.WebFetchHostRejected(logger, context.TaskId, context.AgentName, uri.Authority);
        var reason = redirectedFrom is null
            ? $"The host '{uri.Authority}' is not allowed."
            : $"'{redirectedFrom}' redirected to the host '{uri.Authority}', which is not allowed.";
        throw new ToolException("host_not_allowed", $"{reason} Allowed hosts: {string.Join(", ", _options.AllowedHosts)}.");
    }

    private static bool IsRedirect(HttpStatusCode status) => status is
        HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
        or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    /// <summary>Reads at most <see cref="WebFetchToolOptions.MaxResponseBytes"/> of the body and decodes it as text.</summary>
    private async Task<(string Body, int ByteCount, bool Truncated)> ReadBodyAsync(HttpResponseMessage response, Uri uri, CancellationToken cancellationToken)
    {
        var contentType = response.Content.Headers.ContentType;
        if (contentType?.MediaType is { } mediaType && !IsTextMediaType(mediaType))
        {
            throw new ToolException("binary_content", $"'{uri}' returned the content type '{mediaType}', which is not text. The web_fetch tool returns text only.");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[_options.MaxResponseBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        var truncated = length > _options.MaxResponseBytes;
        length = Math.Min(length, _options.MaxResponseBytes);
        if (TextFiles.LooksBinary(buffer.AsSpan(0, Math.Min(length, TextFiles.SniffLength))))
        {
            throw new ToolException("binary_content", $"'{uri}' returned binary data. The web_fetch tool returns text only.");
        }

        return (GetEncoding(contentType?.CharSet).GetString(buffer, 0, length), length, truncated);
    }

    private static bool IsTextMediaType(string mediaType) =>
        mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("+xml", StringComparison.OrdinalIgnoreCase)
        || mediaType.ToLowerInvariant() is "application/json" or "application/xml" or "application/javascript"
            or "application/ecmascript" or "application/x-ndjson" or "application/yaml" or "application/x-yaml";

    private static Encoding GetEncoding(string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset))
        {
            return Encoding.UTF8;
        }

        try
        {
            return Encoding.GetEncoding(charset.Trim('"'));
        }
        catch (ArgumentException)
        {
            // An unknown charset name; UTF-8 is the usual encoding of web text.
            return Encoding.UTF8;
        }
    }

    private string Format(Uri uri, HttpResponseMessage response, string body, bool truncated)
    {
        var output = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"URL: {uri}\n")
            .Append(CultureInfo.InvariantCulture, $"Status: {(int)response.StatusCode} {response.ReasonPhrase}\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Type: {response.Content.Headers.ContentType?.ToString() ?? "(none)"}\n\n")
            .Append(body);
        if (truncated)
        {
            output.Append(CultureInfo.InvariantCulture, $"\n[Body truncated after {_options.MaxResponseBytes} bytes.]");
        }

        return output.ToString();
    }
}

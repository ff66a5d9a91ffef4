namespace AgentApi.Tests.Security;

/// <summary>Who sends a row of the hostile-request table.</summary>
public enum Caller
{
    Admin,
    Reader,
    Submitter,
    NoKey,
    UnknownKey,
}

/// <summary>
/// One malformed or hostile request and the 4xx it must get. For a 400 from the API,
/// <see cref="Field"/> names the entry the problem's <c>errors</c> map must have. Dashboard pages
/// respond with HTML, so for them <see cref="Html"/> is set and only the status and the content
/// type are checked.
/// </summary>
public sealed record HostileRequest(string Method, string Path, int Status)
{
    public Caller Caller { get; init; } = Caller.Admin;

    public string? Body { get; init; }

    public string ContentType { get; init; } = "application/json";

    public string? Field { get; init; }

    /// <summary>Extra request headers, sent without validation.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// For a dashboard form post: the page whose form carries the antiforgery token, which is
    /// added to <see cref="Form"/>.
    /// </summary>
    public string? FormPage { get; init; }

    public IReadOnlyDictionary<string, string>? Form { get; init; }

    /// <summary>
    /// Kestrel rejects the request line itself (a NUL in the path, a URL over its limit) with
    /// an empty body before the application receives it, so only the status is checked.
    /// </summary>
    public bool RejectedByServer { get; init; }

    /// <summary>The response is a dashboard page rather than problem details.</summary>
    public bool Html { get; init; }

    public override string ToString()
    {
        var content = Body ?? (Form is null ? null : string.Join('&', Form.Select(field => $"{field.Key}={field.Value}")));
        return $"{Caller} {Method} {Shorten(Path)}" + (content is null ? "" : $" {Shorten(content)}");
    }

    private static string Shorten(string text) => text.Length > 120 ? $"{text[..120]}… ({text.Length} chars)" : text;
}

namespace AgentApi.Agents.Tools;

/// <summary>Settings under <c>Tools:WebFetch</c>.</summary>
public sealed class WebFetchToolOptions
{
    public const int DefaultMaxResponseBytes = 512 * 1024;
    public const int DefaultMaxRedirects = 5;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Hosts that <c>web_fetch</c> may request, such as <c>docs.example.com</c> or, for one port
    /// only, <c>127.0.0.1:5123</c>. Names match exactly and case-insensitively, so subdomains
    /// need entries of their own. Defaults to empty, which rejects every fetch.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Maximum bytes of response body returned. The rest is cut off with a note. Defaults to 512 KiB.</summary>
    public int MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;

    /// <summary>Maximum time for one fetch, redirects and body included. Defaults to 20 seconds.</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>Maximum redirects followed, each to an allowed host only. Defaults to 5.</summary>
    public int MaxRedirects { get; set; } = DefaultMaxRedirects;
}

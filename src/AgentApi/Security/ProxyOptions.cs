namespace AgentApi.Security;

/// <summary>Running behind a reverse proxy, under <c>Proxy</c>.</summary>
public sealed class ProxyOptions
{
    public const string SectionName = "Proxy";

    /// <summary>
    /// Whether <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are read, so that the service
    /// uses the client's address and treats a request that reached the proxy over HTTPS as HTTPS,
    /// which marks its cookie Secure. Only proxies on loopback and in <see cref="KnownProxies"/>
    /// are trusted. Defaults to false.
    /// </summary>
    public bool ForwardedHeaders { get; set; }

    /// <summary>Addresses of proxies other than loopback whose forwarded headers are believed.</summary>
    public List<string> KnownProxies { get; set; } = [];
}

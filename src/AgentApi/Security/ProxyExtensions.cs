using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace AgentApi.Security;

public static class ProxyExtensions
{
    /// <summary>Reads the forwarded headers of trusted proxies when <c>Proxy:ForwardedHeaders</c> is on.</summary>
    public static IApplicationBuilder UseProxyHeaders(this IApplicationBuilder app, IConfiguration configuration)
    {
        var options = configuration.GetSection(ProxyOptions.SectionName).Get<ProxyOptions>() ?? new ProxyOptions();
        if (!options.ForwardedHeaders)
        {
            return app;
        }

        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
        };
        foreach (var proxy in options.KnownProxies)
        {
            if (!IPAddress.TryParse(proxy, out var address))
            {
                throw new InvalidOperationException($"Proxy:KnownProxies contains '{proxy}', which is not an IP address.");
            }

            forwarded.KnownProxies.Add(address);
        }

        return app.UseForwardedHeaders(forwarded);
    }
}

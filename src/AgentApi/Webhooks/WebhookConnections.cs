using System.Net;
using System.Net.Sockets;

namespace AgentApi.Webhooks;

/// <summary>
/// Opens webhook connections to public addresses only, unless the host is in
/// <see cref="WebhookOptions.AllowedHosts"/>. The check runs on the addresses the host resolves
/// to at connect time, so a public-looking name that resolves to an internal address, such as
/// the 169.254.169.254 metadata service, is refused.
/// </summary>
internal sealed class WebhookConnections(IReadOnlyCollection<string> allowedHosts)
{
    public SocketsHttpHandler CreateHandler() => new()
    {
        // A redirect could lead anywhere; a receiver that moved must be configured again.
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = ConnectAsync,
    };

    /// <summary>Returns whether <paramref name="address"/> is loopback, private, shared, link-local, unspecified or multicast.</summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var bytes = address.GetAddressBytes();
            return bytes[0] is 0 or 10 or 127 or >= 224
                || (bytes[0] == 100 && bytes[1] is >= 64 and < 128)
                || (bytes[0] == 169 && bytes[1] == 254)
                || (bytes[0] == 172 && bytes[1] is >= 16 and < 32)
                || (bytes[0] == 192 && bytes[1] == 168);
        }

        var first = address.GetAddressBytes()[0];
        return address.Equals(IPAddress.IPv6Any)
            || IPAddress.IsLoopback(address)
            || address.IsIPv6LinkLocal
            || address.IsIPv6SiteLocal
            || address.IsIPv6Multicast
            || (first & 0xfe) == 0xfc;
    }

    /// <summary>
    /// Returns whether <paramref name="host"/>, as written in a URL, is an internal address, or a
    /// name that always means this machine (<c>localhost</c> and names under it), with or without
    /// a trailing dot.
    /// </summary>
    public static bool IsInternalHost(string host)
    {
        var name = host.TrimEnd('.');
        return (IPAddress.TryParse(name, out var address) && IsInternal(address))
            || name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Returns whether <paramref name="allowedHosts"/> lists <paramref name="host"/>, or it with <paramref name="port"/>.</summary>
    public static bool IsAllowedHost(string host, int port, IReadOnlyCollection<string> allowedHosts) =>
        allowedHosts.Any(allowed => string.Equals(allowed, host, StringComparison.OrdinalIgnoreCase)
            || string.Equals(allowed, $"{host}:{port}", StringComparison.OrdinalIgnoreCase));

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.TrimEnd('.');
        var port = context.DnsEndPoint.Port;
        if (IsInternalHost(host) && !IsAllowedHost(host, port, allowedHosts))
        {
            throw new HttpRequestException(
                $"Webhook host '{host}' is a loopback, private or link-local address; add '{host}' or '{host}:{port}' to Webhooks:AllowedHosts to allow it.");
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
        var usable = IsAllowedHost(host, port, allowedHosts) ? addresses : addresses.Where(address => !IsInternal(address)).ToArray();
        if (usable.Length == 0)
        {
            throw new HttpRequestException(
                $"Webhook host '{host}' resolves only to loopback, private or link-local addresses; add '{host}' or '{host}:{port}' to Webhooks:AllowedHosts to allow it.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(usable, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

using System.Net;
using System.Net.Sockets;

namespace AgentApi.Webhooks;

/// <summary>
/// Opens webhook connections only to addresses that are not link-local (such as the
/// 169.254.169.254 metadata service), unspecified or multicast. The check runs on the resolved
/// address at connect time, so a host name that resolves there cannot get past it.
/// </summary>
internal static class WebhookConnections
{
    public static SocketsHttpHandler CreateHandler() => new()
    {
        // A redirect could lead anywhere; a receiver that moved must be configured again.
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = ConnectAsync,
    };

    public static bool IsBlocked(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var bytes = address.GetAddressBytes();
            return bytes[0] == 0 || (bytes[0] == 169 && bytes[1] == 254) || bytes[0] >= 224;
        }

        return address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6Multicast || address.IsIPv6SiteLocal;
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        var allowed = addresses.Where(address => !IsBlocked(address)).ToArray();
        if (allowed.Length == 0)
        {
            throw new HttpRequestException(
                $"Webhook host '{context.DnsEndPoint.Host}' resolves only to link-local, unspecified or multicast addresses, which webhooks may not reach.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

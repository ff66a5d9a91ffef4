using System.Net;
using System.Net.Sockets;

namespace AgentApi.Tests.Infrastructure;

/// <summary>Free TCP ports on the loopback address.</summary>
public static class LoopbackPort
{
    /// <summary>
    /// Returns a port that was free a moment ago. Another process can take it before the caller
    /// binds it, so a caller that can retry on another port should.
    /// </summary>
    public static int PickFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;

namespace AgentApi.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay in front of a server, so that a test can take the server away and
/// bring it back on the same address: <see cref="Close"/> refuses new connections and resets
/// open ones, as a stopped PostgreSQL does, without touching the server other tests share.
/// </summary>
public sealed class TcpGate : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public TcpGate(IPEndPoint target)
    {
        _target = target;
        Port = LoopbackPort.PickFree();
        Open();
    }

    public int Port { get; }

    /// <summary>Starts accepting connections again on <see cref="Port"/>.</summary>
    public void Open()
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _acceptLoop = AcceptAsync(listener);
        }
    }

    /// <summary>Stops listening and resets every relayed connection.</summary>
    public void Close()
    {
        List<TcpClient> open;
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            open = [.. _open];
            _open.Clear();
        }

        foreach (var client in open)
        {
            // A zero linger time makes Close send RST, as a server that went away does. A
            // connection that is still being made has no socket yet.
            client.Client?.LingerState = new LingerOption(true, 0);
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        await _acceptLoop;
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            TcpClient incoming;
            try
            {
                incoming = await listener.AcceptTcpClientAsync();
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = RelayAsync(incoming);
        }
    }

    private async Task RelayAsync(TcpClient incoming)
    {
        var outgoing = new TcpClient();
        lock (_lock)
        {
            if (_listener is null)
            {
                incoming.Dispose();
                outgoing.Dispose();
                return;
            }

            _open.Add(incoming);
            _open.Add(outgoing);
        }

        try
        {
            await outgoing.ConnectAsync(_target);
            var incomingStream = incoming.GetStream();
            var outgoingStream = outgoing.GetStream();
            await Task.WhenAny(incomingStream.CopyToAsync(outgoingStream), outgoingStream.CopyToAsync(incomingStream));
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Closed by the gate or by either side.
        }
        finally
        {
            lock (_lock)
            {
                _open.Remove(incoming);
                _open.Remove(outgoing);
            }

            incoming.Dispose();
            outgoing.Dispose();
        }
    }
}

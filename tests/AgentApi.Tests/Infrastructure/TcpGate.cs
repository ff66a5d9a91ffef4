using System.Net;
using System.Net.Sockets;

namespace AgentApi.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay in front of a server, so that a test can take the server away and
/// bring it back on the same address: <see cref="Close"/> refuses new connections and resets
/// open ones, as a stopped PostgreSQL does, without touching the server other tests share.
/// <see cref="Freeze"/> keeps every connection open and accepts new ones but passes no byte on,
/// as a paused PostgreSQL process does, until <see cref="Thaw"/>.
/// </summary>
public sealed class TcpGate : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    /// <summary>Completed while bytes may pass, and replaced by a pending one while frozen.</summary>
    private TaskCompletionSource _flowing = NewCompleted();

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
            // connection that is still being made has no socket yet, and one whose relay just
            // ended has a disposed one.
            try
            {
                client.Client?.LingerState = new LingerOption(true, 0);
            }
            catch (ObjectDisposedException)
            {
            }

            client.Dispose();
        }
    }

    /// <summary>Holds every byte in both directions, and every new connection unconnected, until <see cref="Thaw"/>.</summary>
    public void Freeze()
    {
        lock (_lock)
        {
            if (_flowing.Task.IsCompleted)
            {
                _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Lets the held bytes and connections through, and everything after them.</summary>
    public void Thaw()
    {
        lock (_lock)
        {
            _flowing.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Thaw();
        Close();
        await _acceptLoop;
    }

    private static TaskCompletionSource NewCompleted()
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult();
        return source;
    }

    private Task Flowing()
    {
        lock (_lock)
        {
            return _flowing.Task;
        }
    }

    /// <summary>Copies bytes from <paramref name="source"/> to <paramref name="target"/>, waiting before each write while the gate is frozen.</summary>
    private async Task PumpAsync(Stream source, Stream target)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await source.ReadAsync(buffer)) > 0)
        {
            await Flowing();
            await target.WriteAsync(buffer.AsMemory(0, read));
        }
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
            // A paused server's kernel still accepts connections, and the server never replies on them.
            await Flowing();
            await outgoing.ConnectAsync(_target);
            var incomingStream = incoming.GetStream();
            var outgoingStream = outgoing.GetStream();
            await Task.WhenAny(PumpAsync(incomingStream, outgoingStream), PumpAsync(outgoingStream, incomingStream));
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

using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Connections.Client;

namespace AgentApi.HubBenchmark;

/// <summary>
/// A client connection's network stream with a read buffer of its own. The WebSocket under the
/// SignalR client reads a message's payload straight into the 4 KB pipe segment it is given, so
/// without this each 4 KB of a batch cost the clients' process one socket receive. This stream
/// fills its buffer with one receive and hands out the 4 KB pieces from it. A zero-byte read,
/// which the transport makes to wait for data, returns at once when the buffer has data and
/// waits on the socket otherwise. Writes go straight to the inner stream.
/// </summary>
internal sealed class ReadAheadStream(Stream inner, int bufferSize) : Stream
{
    private readonly byte[] _buffer = new byte[bufferSize];
    private int _start;
    private int _end;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// A factory for <see cref="HttpConnectionOptions.WebSocketFactory"/> that connects each
    /// client's WebSocket through a <see cref="ReadAheadStream"/> of <paramref name="bufferSize"/>
    /// bytes, with the connection's headers (the API key).
    /// </summary>
    public static Func<WebSocketConnectionContext, CancellationToken, ValueTask<WebSocket>> WebSocketFactory(int bufferSize)
    {
        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new ReadAheadStream(new NetworkStream(socket, ownsSocket: true), bufferSize);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        });
        return async (context, cancellationToken) =>
        {
            var webSocket = new ClientWebSocket();
            foreach (var (name, value) in context.Options.Headers)
            {
                webSocket.Options.SetRequestHeader(name, value);
            }

            await webSocket.ConnectAsync(context.Uri, invoker, cancellationToken);
            return webSocket;
        };
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_start < _end)
        {
            return new ValueTask<int>(CopyBuffered(buffer.Span));
        }

        return buffer.Length >= _buffer.Length ? inner.ReadAsync(buffer, cancellationToken) : FillAndReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        if (_start == _end)
        {
            if (buffer.Length >= _buffer.Length)
            {
                return inner.Read(buffer);
            }

            _start = 0;
            _end = inner.Read(_buffer);
        }

        return CopyBuffered(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();

    private async ValueTask<int> FillAndReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.IsEmpty)
        {
            // Waits for data without taking it, as the caller requested.
            return await inner.ReadAsync(Memory<byte>.Empty, cancellationToken);
        }

        _start = 0;
        _end = await inner.ReadAsync(_buffer, cancellationToken);
        return CopyBuffered(buffer.Span);
    }

    private int CopyBuffered(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }
}

using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The client side of <c>--client parser</c>: the MessagePack hub protocol with a shortcut for
/// <c>taskEvent</c> invocations. It reads each one where the protocol parses it and passes the
/// event's index and publish time to a callback, instead of returning an invocation that the
/// connection queues and dispatches to a handler. The events of all the <c>taskEvent</c> messages
/// that one parse finds in the buffer get one clock reading, as the events of one
/// <c>taskEvents</c> batch do. The connection then receives one ping message for them, which it
/// only uses to reset its server timeout.
/// </summary>
/// <remarks>
/// The shortcut reads the invocation as the service's <c>MessagePackHubProtocol</c> writes it: an
/// array of 6 with no headers, no invocation id, the target <c>taskEvent</c>, one argument and
/// no stream ids. Any other message, and a <c>taskEvent</c> in any other form or too large for the
/// stack buffer, goes to <paramref name="inner"/>. No <c>taskEvent</c> handler is registered in
/// this mode, so the client drops such an event, and it counts as missing.
/// </remarks>
internal sealed class ParsingHubProtocol(IHubProtocol inner, Action<LeanReceivedEvent, long> record) : IHubProtocol
{
    /// <summary>The longest invocation that the shortcut copies to the stack when it spans two pipe segments.</summary>
    private const int MaxCopiedLength = 1024;

    /// <summary>A varint length prefix is at most 5 bytes.</summary>
    private const int MaxPrefixLength = 5;

    private static ReadOnlySpan<byte> InvocationStart =>
    [
        0x96, // array of 6
        0x01, // message type: invocation
        0x80, // headers: empty map
        0xc0, // invocation id: nil
        0xa9, (byte)'t', (byte)'a', (byte)'s', (byte)'k', (byte)'E', (byte)'v', (byte)'e', (byte)'n', (byte)'t',
        0x91, // arguments: array of 1
    ];

    public string Name => inner.Name;

    public int Version => inner.Version;

    public TransferFormat TransferFormat => inner.TransferFormat;

    public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => inner.WriteMessage(message, output);

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => inner.GetMessageBytes(message);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        var recorded = false;
        long now = 0;
        while (TryReadFrame(input, out var payload, out var frameLength) && TryReadTaskEvent(payload, out var taskEvent))
        {
            if (!recorded)
            {
                now = Stopwatch.GetTimestamp();
                recorded = true;
            }

            record(taskEvent, now);
            input = input.Slice(frameLength);
        }

        if (recorded)
        {
            message = PingMessage.Instance;
            return true;
        }

        return inner.TryParseMessage(ref input, binder, out message);
    }

    /// <summary>Reads the varint length prefix of the first message; false when the message is not complete yet.</summary>
    private static bool TryReadFrame(in ReadOnlySequence<byte> input, out ReadOnlySequence<byte> payload, out long frameLength)
    {
        payload = default;
        frameLength = 0;
        Span<byte> prefix = stackalloc byte[MaxPrefixLength];
        var available = (int)Math.Min(MaxPrefixLength, input.Length);
        input.Slice(0, available).CopyTo(prefix);
        long length = 0;
        for (var i = 0; i < available; i++)
        {
            length |= (long)(prefix[i] & 0x7f) << (7 * i);
            if ((prefix[i] & 0x80) == 0)
            {
                if (input.Length < i + 1 + length)
                {
                    return false;
                }

                payload = input.Slice(i + 1, length);
                frameLength = i + 1 + length;
                return true;
            }
        }

        // Incomplete, or longer than 5 bytes: the inner protocol waits or reports it.
        return false;
    }

    private static bool TryReadTaskEvent(in ReadOnlySequence<byte> payload, out LeanReceivedEvent taskEvent)
    {
        if (payload.IsSingleSegment)
        {
            return TryReadTaskEvent(payload.FirstSpan, out taskEvent);
        }

        if (payload.Length > MaxCopiedLength)
        {
            taskEvent = default;
            return false;
        }

        Span<byte> copy = stackalloc byte[(int)payload.Length];
        payload.CopyTo(copy);
        return TryReadTaskEvent(copy, out taskEvent);
    }

    private static bool TryReadTaskEvent(ReadOnlySpan<byte> span, out LeanReceivedEvent taskEvent)
    {
        taskEvent = default;
        if (!span.StartsWith(InvocationStart))
        {
            return false;
        }

        var position = InvocationStart.Length;
        if (!LeanEventSpanReader.TryRead(span[position..], out taskEvent, out var length))
        {
            return false;
        }

        // The stream ids, an empty array, end the message.
        position += length;
        return position == span.Length - 1 && span[position] == 0x90;
    }
}

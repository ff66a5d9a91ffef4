using System.Buffers.Binary;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The fast path of <see cref="LeanReceivedEventFormatter"/>: reads one task event map from a
/// contiguous span of MessagePack bytes, for the usual case where the event lies inside one pipe
/// segment. It reads the map headers, string keys, integers, strings, nil, booleans, floats,
/// binaries, extensions and nested maps and arrays up to <see cref="MaxDepth"/>. That covers the
/// events that <c>TaskEventResponseFormatter</c> writes, except maps, arrays and keys of more than
/// 65,535 entries or bytes. On anything else, or on an event that runs past the span, it returns
/// false, and the formatter reads the event with <c>MessagePackReader</c>, which then applies its
/// own checks and errors.
/// </summary>
internal static class LeanEventSpanReader
{
    /// <summary>How deeply values inside an event may nest before the fast path gives up.</summary>
    private const int MaxDepth = 8;

    /// <summary>
    /// Reads the event map at the start of <paramref name="span"/>. On success
    /// <paramref name="taskEvent"/> contains <c>data.index</c> and <c>data.sentAt</c> where they are
    /// integers, and <paramref name="length"/> is the event's length in bytes.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> span, out LeanReceivedEvent taskEvent, out int length)
    {
        taskEvent = default;
        length = 0;
        var position = 0;
        if (!TryReadMapHeader(span, ref position, out var count))
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (!TryReadKey(span, ref position, out var key))
            {
                return false;
            }

            if (!key.SequenceEqual("data"u8))
            {
                if (!TrySkip(span, ref position, 0))
                {
                    return false;
                }
            }
            else if (!TryReadData(span, ref position, ref taskEvent))
            {
                return false;
            }
        }

        length = position;
        return true;
    }

    private static bool TryReadData(ReadOnlySpan<byte> span, ref int position, ref LeanReceivedEvent taskEvent)
    {
        if (position >= span.Length)
        {
            return false;
        }

        if (!IsMapHeader(span[position]))
        {
            return TrySkip(span, ref position, 0);
        }

        if (!TryReadMapHeader(span, ref position, out var count))
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (!TryReadKey(span, ref position, out var key))
            {
                return false;
            }

            var isIndex = key.SequenceEqual("index"u8);
            if (!isIndex && !key.SequenceEqual("sentAt"u8))
            {
                if (!TrySkip(span, ref position, 1))
                {
                    return false;
                }

                continue;
            }

            if (position >= span.Length)
            {
                return false;
            }

            if (!IsInteger(span[position]))
            {
                if (!TrySkip(span, ref position, 1))
                {
                    return false;
                }

                continue;
            }

            if (!TryReadInteger(span, ref position, out var value))
            {
                return false;
            }

            if (isIndex)
            {
                taskEvent.Index = value;
            }
            else
            {
                taskEvent.SentAt = value;
            }
        }

        return true;
    }

    private static bool IsMapHeader(byte code) => code is (>= 0x80 and <= 0x8f) or 0xde or 0xdf;

    private static bool IsInteger(byte code) => code is <= 0x7f or >= 0xe0 or (>= 0xcc and <= 0xd3);

    private static bool TryReadMapHeader(ReadOnlySpan<byte> span, ref int position, out int count)
    {
        count = 0;
        if (position >= span.Length)
        {
            return false;
        }

        var code = span[position];
        if (code is >= 0x80 and <= 0x8f)
        {
            count = code & 0x0f;
            position++;
            return true;
        }

        if (code == 0xde && position + 3 <= span.Length)
        {
            count = BinaryPrimitives.ReadUInt16BigEndian(span[(position + 1)..]);
            position += 3;
            return true;
        }

        // A map32 header, which no event needs, is left to the slow path.
        return false;
    }

    /// <summary>Reads a fixstr, str8 or str16 key; any other key is left to the slow path.</summary>
    private static bool TryReadKey(ReadOnlySpan<byte> span, ref int position, out ReadOnlySpan<byte> key)
    {
        key = default;
        if (position >= span.Length)
        {
            return false;
        }

        var code = span[position];
        int header;
        int keyLength;
        if (code is >= 0xa0 and <= 0xbf)
        {
            header = 1;
            keyLength = code & 0x1f;
        }
        else if (code == 0xd9 && position + 2 <= span.Length)
        {
            header = 2;
            keyLength = span[position + 1];
        }
        else if (code == 0xda && position + 3 <= span.Length)
        {
            header = 3;
            keyLength = BinaryPrimitives.ReadUInt16BigEndian(span[(position + 1)..]);
        }
        else
        {
            return false;
        }

        if (position + header + keyLength > span.Length)
        {
            return false;
        }

        key = span.Slice(position + header, keyLength);
        position += header + keyLength;
        return true;
    }

    /// <summary>Reads an integer that fits a <see cref="long"/>; a larger uint64 is left to the slow path.</summary>
    private static bool TryReadInteger(ReadOnlySpan<byte> span, ref int position, out long value)
    {
        value = 0;
        var code = span[position];
        var size = code switch
        {
            <= 0x7f or >= 0xe0 => 0,
            0xcc or 0xd0 => 1,
            0xcd or 0xd1 => 2,
            0xce or 0xd2 => 4,
            _ => 8,
        };
        if (position + 1 + size > span.Length)
        {
            return false;
        }

        var payload = span.Slice(position + 1, size);
        switch (code)
        {
            case <= 0x7f:
                value = code;
                break;
            case >= 0xe0:
                value = (sbyte)code;
                break;
            case 0xcc:
                value = payload[0];
                break;
            case 0xcd:
                value = BinaryPrimitives.ReadUInt16BigEndian(payload);
                break;
            case 0xce:
                value = BinaryPrimitives.ReadUInt32BigEndian(payload);
                break;
            case 0xcf:
                var unsigned = BinaryPrimitives.ReadUInt64BigEndian(payload);
                if (unsigned > long.MaxValue)
                {
                    return false;
                }

                value = (long)unsigned;
                break;
            case 0xd0:
                value = (sbyte)payload[0];
                break;
            case 0xd1:
                value = BinaryPrimitives.ReadInt16BigEndian(payload);
                break;
            case 0xd2:
                value = BinaryPrimitives.ReadInt32BigEndian(payload);
                break;
            default:
                value = BinaryPrimitives.ReadInt64BigEndian(payload);
                break;
        }

        position += 1 + size;
        return true;
    }

    /// <summary>Moves past one value of any type, as long as it lies inside the span and nests at most <see cref="MaxDepth"/> deep.</summary>
    private static bool TrySkip(ReadOnlySpan<byte> span, ref int position, int depth)
    {
        if (position >= span.Length)
        {
            return false;
        }

        var code = span[position];

        // The three formats of nearly every skipped value, checked before the general switch: a
        // short string (the task id and the type), a small positive integer and an 8-byte
        // extension (the timestamp).
        if (code is >= 0xa0 and <= 0xbf || code <= 0x7f || code == 0xd7)
        {
            var length = code switch
            {
                <= 0x7f => 1,
                0xd7 => 10,
                _ => 1 + (code & 0x1f),
            };
            if (position + length > span.Length)
            {
                return false;
            }

            position += length;
            return true;
        }

        long header;
        long payload;
        long items = 0;
        switch (code)
        {
            case <= 0x7f or >= 0xe0 or 0xc0 or 0xc2 or 0xc3:
                header = 1;
                payload = 0;
                break;
            case >= 0x80 and <= 0x8f:
                header = 1;
                payload = 0;
                items = 2 * (code & 0x0f);
                break;
            case >= 0x90 and <= 0x9f:
                header = 1;
                payload = 0;
                items = code & 0x0f;
                break;
            case >= 0xa0 and <= 0xbf:
                header = 1;
                payload = code & 0x1f;
                break;
            case 0xc4 or 0xd9:
                header = 2;
                payload = position + 2 <= span.Length ? span[position + 1] : int.MaxValue;
                break;
            case 0xc5 or 0xda:
                header = 3;
                payload = position + 3 <= span.Length ? BinaryPrimitives.ReadUInt16BigEndian(span[(position + 1)..]) : int.MaxValue;
                break;
            case 0xc6 or 0xdb:
                header = 5;
                payload = position + 5 <= span.Length ? BinaryPrimitives.ReadUInt32BigEndian(span[(position + 1)..]) : int.MaxValue;
                break;
            case 0xc7:
                header = 3;
                payload = position + 2 <= span.Length ? span[position + 1] : int.MaxValue;
                break;
            case 0xc8:
                header = 4;
                payload = position + 3 <= span.Length ? BinaryPrimitives.ReadUInt16BigEndian(span[(position + 1)..]) : int.MaxValue;
                break;
            case 0xc9:
                header = 6;
                payload = position + 5 <= span.Length ? BinaryPrimitives.ReadUInt32BigEndian(span[(position + 1)..]) : int.MaxValue;
                break;
            case 0xca or 0xce or 0xd2:
                header = 5;
                payload = 0;
                break;
            case 0xcb or 0xcf or 0xd3:
                header = 9;
                payload = 0;
                break;
            case 0xcc or 0xd0:
                header = 2;
                payload = 0;
                break;
            case 0xcd or 0xd1:
                header = 3;
                payload = 0;
                break;
            case >= 0xd4 and <= 0xd8:
                // fixext 1, 2, 4, 8 and 16: the code, the type and 2 to the power (code - 0xd4) bytes.
                header = 2;
                payload = 1L << (code - 0xd4);
                break;
            case 0xdc:
                header = 3;
                payload = 0;
                items = position + 3 <= span.Length ? BinaryPrimitives.ReadUInt16BigEndian(span[(position + 1)..]) : int.MaxValue;
                break;
            case 0xde:
                header = 3;
                payload = 0;
                items = position + 3 <= span.Length ? 2L * BinaryPrimitives.ReadUInt16BigEndian(span[(position + 1)..]) : int.MaxValue;
                break;
            default:
                // 0xc1 (never used), array32 and map32: left to the slow path.
                return false;
        }

        var end = position + header + payload;
        if (end > span.Length || (items > 0 && depth >= MaxDepth))
        {
            return false;
        }

        position = (int)end;
        for (long i = 0; i < items; i++)
        {
            if (!TrySkip(span, ref position, depth + 1))
            {
                return false;
            }
        }

        return true;
    }
}

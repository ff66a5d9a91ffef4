namespace AgentApi.Tasks;

/// <summary>
/// Creates version 7 GUIDs that grow strictly within this process, also within one millisecond,
/// so that ordering tasks by id is ordering them by submission. Ids from different instances in
/// the same millisecond have no defined order.
/// </summary>
public sealed class TaskIdGenerator(TimeProvider timeProvider)
{
    private readonly Lock _sync = new();
    private readonly byte[] _last = new byte[16];

    public Guid Next()
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.CreateVersion7(timeProvider.GetUtcNow()).TryWriteBytes(bytes, bigEndian: true, out _);

        lock (_sync)
        {
            // Bytes 0 to 5 are the millisecond timestamp. Within the same or an earlier
            // millisecond, take the last id and add one to its random tail instead.
            if (bytes[..6].SequenceCompareTo(_last.AsSpan(0, 6)) <= 0)
            {
                _last.CopyTo(bytes);
                Increment(bytes);
            }

            bytes.CopyTo(_last);
        }

        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>Adds one to the 62 random bits after the variant bits (byte 8 onward).</summary>
    private static void Increment(Span<byte> bytes)
    {
        for (var index = 15; index > 8; index--)
        {
            if (++bytes[index] != 0)
            {
                return;
            }
        }

        // Keep the two variant bits of byte 8; the low six bits carry.
        var low = (bytes[8] & 0x3F) + 1;
        bytes[8] = (byte)((bytes[8] & 0xC0) | (low & 0x3F));
    }
}

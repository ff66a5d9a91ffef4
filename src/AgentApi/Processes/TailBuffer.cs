namespace AgentApi.Processes;

/// <summary>The last bytes written to it, at most a given number; older bytes are dropped as new ones arrive.</summary>
internal sealed class TailBuffer(int maxBytes)
{
    private readonly Lock _sync = new();
    private readonly byte[] _ring = new byte[maxBytes];
    private long _written;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_sync)
        {
            if (bytes.Length > _ring.Length)
            {
                _written += bytes.Length - _ring.Length;
                bytes = bytes[^_ring.Length..];
            }

            foreach (var value in bytes)
            {
                _ring[_written % _ring.Length] = value;
                _written++;
            }
        }
    }

    public async Task CopyFromAsync(Stream stream, CancellationToken cancellationToken)
    {
        var chunk = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            Write(chunk.AsSpan(0, read));
        }
    }

    /// <summary>Decodes the kept bytes as UTF-8; a character cut at the start becomes U+FFFD.</summary>
    public string GetText()
    {
        lock (_sync)
        {
            var length = (int)Math.Min(_written, _ring.Length);
            var bytes = new byte[length];
            var start = _written - length;
            for (var index = 0; index < length; index++)
            {
                bytes[index] = _ring[(start + index) % _ring.Length];
            }

            return System.Text.Encoding.UTF8.GetString(bytes);
        }
    }

    /// <summary>Whether bytes were dropped from the start.</summary>
    public bool IsCut
    {
        get
        {
            lock (_sync)
            {
                return _written > _ring.Length;
            }
        }
    }
}

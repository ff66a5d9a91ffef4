namespace AgentApi.Agents.Tools;

/// <summary>
/// Bytes written by several streams into one buffer in arrival order, up to a maximum. Bytes
/// past the maximum are counted and dropped. Safe to write from several threads.
/// </summary>
internal sealed class CappedOutput(int maxBytes)
{
    private readonly Lock _lock = new();
    private readonly MemoryStream _buffer = new();
    private long _droppedBytes;

    public long DroppedBytes
    {
        get
        {
            lock (_lock)
            {
                return _droppedBytes;
            }
        }
    }

    public long TotalBytes
    {
        get
        {
            lock (_lock)
            {
                return _buffer.Length + _droppedBytes;
            }
        }
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            var room = (int)Math.Max(0, maxBytes - _buffer.Length);
            var keptLength = Math.Min(room, bytes.Length);
            _buffer.Write(bytes[..keptLength]);
            _droppedBytes += bytes.Length - keptLength;
        }
    }

    /// <summary>Copies a stream into this buffer until the stream ends or <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task CopyFromAsync(Stream stream, CancellationToken cancellationToken)
    {
        var chunk = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            Write(chunk.AsSpan(0, read));
        }
    }

    /// <summary>Decodes the kept bytes as UTF-8. A character cut at the limit becomes U+FFFD.</summary>
    public string GetText()
    {
        lock (_lock)
        {
            return System.Text.Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length);
        }
    }
}

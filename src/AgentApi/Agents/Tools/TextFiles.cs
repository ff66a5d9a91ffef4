namespace AgentApi.Agents.Tools;

/// <summary>Tells text files from binary ones, the way <c>git</c> and <c>grep</c> guess it.</summary>
internal static class TextFiles
{
    /// <summary>How much of a file's start is checked for a NUL byte (8000 bytes, as <c>git</c> checks).</summary>
    public const int SniffLength = 8000;

    public static bool LooksBinary(ReadOnlySpan<byte> start) => start.Contains((byte)0);

    /// <summary>Reads up to <see cref="SniffLength"/> bytes from the start of the file and checks them for a NUL byte.</summary>
    public static async Task<bool> IsBinaryAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1, FileOptions.Asynchronous);
        var buffer = new byte[SniffLength];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return LooksBinary(buffer.AsSpan(0, total));
    }
}

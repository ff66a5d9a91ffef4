namespace AgentApi.Agents.Tools;

/// <summary>
/// Reads lines and keeps at most a given number of characters of each, so one huge line costs a
/// buffer, not memory the size of the line. Line ends are <c>\n</c>, <c>\r\n</c> and <c>\r</c>.
/// </summary>
internal sealed class BoundedLineReader(TextReader reader, int maxLineLength)
{
    private readonly char[] _buffer = new char[8192];
    private int _position;
    private int _length;

    /// <summary>Returns the next line, cut to the maximum length, with its full length; null at the end.</summary>
    public async Task<(string Text, long FullLength)?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var kept = new System.Text.StringBuilder();
        long fullLength = 0;
        var readAny = false;
        while (true)
        {
            if (_position == _length)
            {
                _length = await reader.ReadAsync(_buffer, cancellationToken);
                _position = 0;
                if (_length == 0)
                {
                    return readAny ? (kept.ToString(), fullLength) : null;
                }
            }

            readAny = true;
            var c = _buffer[_position++];
            if (c == '\n')
            {
                return (kept.ToString(), fullLength);
            }

            if (c == '\r')
            {
                // A \r\n pair ends one line, not two.
                if (_position == _length)
                {
                    _length = await reader.ReadAsync(_buffer, cancellationToken);
                    _position = 0;
                }

                if (_position < _length && _buffer[_position] == '\n')
                {
                    _position++;
                }

                return (kept.ToString(), fullLength);
            }

            fullLength++;
            if (kept.Length < maxLineLength)
            {
                kept.Append(c);
            }
        }
    }
}

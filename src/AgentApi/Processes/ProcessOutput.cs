using System.Globalization;
using System.Text;
using AgentApi.Agents.Models;
using AgentApi.Agents.Tools;

namespace AgentApi.Processes;

/// <summary>
/// Reads a program's standard output line by line: each line goes to the output observer as it
/// arrives and into the result text, both up to <see cref="ProcessAgentOptions.MaxOutputChars"/>.
/// A line is kept up to <see cref="ProcessAgentOptions.MaxLineChars"/>, so output without line
/// ends costs a bounded buffer.
/// </summary>
internal sealed class ProcessOutput(IModelOutputObserver? observer, int maxChars, int maxLineChars)
{
    private readonly Lock _sync = new();
    private readonly StringBuilder _text = new();
    private long _droppedChars;

    public async Task ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = new BoundedLineReader(reader, maxLineChars);
        while (await lines.ReadLineAsync(cancellationToken) is { } line)
        {
            var text = line.FullLength > line.Text.Length
                ? string.Create(CultureInfo.InvariantCulture, $"{line.Text}… [line cut: {line.FullLength - line.Text.Length} more characters]\n")
                : line.Text + "\n";
            Add(text);
        }
    }

    /// <summary>Returns the result text: the kept output without its last line end, with a note when output was dropped.</summary>
    public string GetResult()
    {
        lock (_sync)
        {
            var text = _text.ToString();
            if (text.EndsWith('\n'))
            {
                text = text[..^1];
            }

            return _droppedChars == 0
                ? text
                : text + string.Create(CultureInfo.InvariantCulture,
                    $"\n[Output truncated: {_droppedChars} more characters were discarded, because at most {maxChars} are kept (setting Processes:MaxOutputChars).]");
        }
    }

    private void Add(string text)
    {
        string? toObserver;
        lock (_sync)
        {
            var room = maxChars - _text.Length;
            if (room <= 0)
            {
                _droppedChars += text.Length;
                return;
            }

            toObserver = text.Length <= room ? text : text[..room];
            _text.Append(toObserver);
            _droppedChars += text.Length - toObserver.Length;
        }

        observer?.OnOutput(toObserver);
    }
}

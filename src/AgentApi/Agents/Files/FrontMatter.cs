using System.Diagnostics.CodeAnalysis;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AgentApi.Agents.Files;

/// <summary>
/// Splits an agent file into its YAML front matter and Markdown body, and reads the front matter's
/// top-level keys. The YAML is read as a stream of parser events rather than a node tree, so that
/// reading stops as soon as a value nests deeper than <see cref="MaxNesting"/>.
/// </summary>
internal static class FrontMatter
{
    private const string Fence = "---";

    /// <summary>
    /// Maximum nesting of lists and mappings in a value. Agent files need 2. The limit stops
    /// reading early on pathological input: YamlDotNet 18.1 took about 25 seconds to parse a list
    /// nested 100,000 deep, on a 2-core machine.
    /// </summary>
    private const int MaxNesting = 32;

    /// <summary>
    /// Splits <paramref name="text"/> at its <c>---</c> lines. The first line must be <c>---</c>,
    /// after an optional UTF-8 byte order mark. CRLF line endings are accepted.
    /// </summary>
    public static bool TrySplit(
        string text,
        [NotNullWhen(true)] out string? yaml,
        [NotNullWhen(true)] out string? body,
        [NotNullWhen(false)] out string? reason)
    {
        yaml = null;
        body = null;
        var normalized = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (normalized.StartsWith('\uFEFF'))
        {
            normalized = normalized[1..];
        }

        var firstLineEnd = normalized.IndexOf('\n', StringComparison.Ordinal);
        var firstLine = firstLineEnd < 0 ? normalized : normalized[..firstLineEnd];
        if (!IsFence(firstLine))
        {
            reason = "the file has no YAML front matter: its first line must be '---'";
            return false;
        }

        var lineStart = firstLineEnd + 1;
        while (firstLineEnd >= 0 && lineStart <= normalized.Length)
        {
            var lineEnd = normalized.IndexOf('\n', lineStart);
            var line = lineEnd < 0 ? normalized[lineStart..] : normalized[lineStart..lineEnd];
            if (IsFence(line))
            {
                yaml = normalized[(firstLineEnd + 1)..lineStart];
                body = lineEnd < 0 ? string.Empty : normalized[(lineEnd + 1)..];
                reason = null;
                return true;
            }

            if (lineEnd < 0)
            {
                break;
            }

            lineStart = lineEnd + 1;
        }

        reason = "the front matter is not closed: add a line '---' after it";
        return false;
    }

    /// <summary>
    /// Reads <paramref name="yaml"/> as one YAML mapping. Line numbers in <paramref name="reason"/>
    /// count from the top of the file, whose first line is the opening <c>---</c>.
    /// </summary>
    public static bool TryRead(
        string yaml,
        [NotNullWhen(true)] out IReadOnlyDictionary<string, FrontMatterValue>? values,
        [NotNullWhen(false)] out string? reason)
    {
        try
        {
            return TryReadMapping(new Parser(new StringReader(yaml)), out values, out reason);
        }
        catch (YamlException exception)
        {
            values = null;
            reason = $"the front matter is not valid YAML at line {exception.Start.Line + 1}, column {exception.Start.Column}: {DescribeError(exception)}";
            return false;
        }
        catch (NestingLimitException exception)
        {
            values = null;
            reason = $"the front matter nests lists and mappings more than {MaxNesting} levels deep at line {exception.Line + 1}";
            return false;
        }
    }

    private static bool TryReadMapping(
        Parser parser,
        [NotNullWhen(true)] out IReadOnlyDictionary<string, FrontMatterValue>? values,
        [NotNullWhen(false)] out string? reason)
    {
        values = null;
        parser.Consume<StreamStart>();
        if (parser.Accept<StreamEnd>(out _))
        {
            reason = "the front matter is empty: it needs at least 'name' and 'description'";
            return false;
        }

        parser.Consume<DocumentStart>();
        if (parser.TryConsume<Scalar>(out var rootScalar) && IsNull(rootScalar))
        {
            reason = "the front matter is empty: it needs at least 'name' and 'description'";
            return false;
        }

        if (rootScalar is not null || !parser.TryConsume<MappingStart>(out _))
        {
            reason = "the front matter must be a YAML mapping of keys to values, such as 'name: reviewer'";
            return false;
        }

        var result = new Dictionary<string, FrontMatterValue>(StringComparer.Ordinal);
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var key = parser.TryConsume<Scalar>(out var keyScalar) ? keyScalar.Value : null;
            if (key is null)
            {
                // A list or mapping used as a key names no setting of an agent file.
                SkipNode(parser);
            }

            var value = ReadValue(parser);
            if (key is not null && !result.TryAdd(key, value))
            {
                reason = $"the front matter sets '{AgentFileText.Quote(key)}' more than once";
                return false;
            }
        }

        parser.Consume<DocumentEnd>();
        if (!parser.Accept<StreamEnd>(out _))
        {
            reason = "the front matter must be a single YAML document";
            return false;
        }

        values = result;
        reason = null;
        return true;
    }

    private static FrontMatterValue ReadValue(Parser parser)
    {
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            return IsNull(scalar) ? FrontMatterValue.Null : FrontMatterValue.Scalar(scalar.Value);
        }

        if (parser.TryConsume<AnchorAlias>(out _))
        {
            return FrontMatterValue.Other(FrontMatterValueKind.Alias);
        }

        if (parser.TryConsume<SequenceStart>(out _))
        {
            return ReadList(parser);
        }

        if (parser.TryConsume<MappingStart>(out _))
        {
            return ReadMapping(parser);
        }

        SkipNode(parser);
        return FrontMatterValue.Other(FrontMatterValueKind.Mapping);
    }

    /// <summary>Reads a mapping whose keys and values are scalars, such as a process agent's <c>env</c>. Anything nested leaves the entries unset.</summary>
    private static FrontMatterValue ReadMapping(Parser parser)
    {
        List<KeyValuePair<string, string>> entries = [];
        var nested = false;
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            for (var part = 0; part < 2; part++)
            {
                if (parser.TryConsume<Scalar>(out var scalar))
                {
                    if (part == 0)
                    {
                        entries.Add(new(scalar.Value, string.Empty));
                    }
                    else if (!nested)
                    {
                        entries[^1] = new(entries[^1].Key, IsNull(scalar) ? string.Empty : scalar.Value);
                    }
                }
                else
                {
                    nested = true;
                    SkipNode(parser);
                }
            }
        }

        return nested ? FrontMatterValue.Other(FrontMatterValueKind.Mapping) : FrontMatterValue.Mapping(entries);
    }

    private static FrontMatterValue ReadList(Parser parser)
    {
        var items = new List<string>();
        var nested = false;
        while (!parser.TryConsume<SequenceEnd>(out _))
        {
            if (parser.TryConsume<Scalar>(out var item) && !IsNull(item))
            {
                items.Add(item.Value);
            }
            else if (item is not null)
            {
                nested = true;
            }
            else
            {
                nested = true;
                SkipNode(parser);
            }
        }

        return nested ? FrontMatterValue.Other(FrontMatterValueKind.ComplexList) : FrontMatterValue.List(items);
    }

    /// <summary>Skips the current node and everything nested in it.</summary>
    /// <exception cref="NestingLimitException">The node nests deeper than <see cref="MaxNesting"/>.</exception>
    private static void SkipNode(Parser parser)
    {
        var depth = 0;
        do
        {
            var current = parser.Current!;
            depth += current.NestingIncrease;
            if (depth > MaxNesting)
            {
                throw new NestingLimitException(current.Start.Line);
            }

            parser.MoveNext();
        }
        while (depth > 0);
    }

    /// <summary>Whether a scalar is YAML's null: empty, <c>~</c> or <c>null</c>, written without quotes.</summary>
    private static bool IsNull(Scalar scalar) =>
        scalar.Style == ScalarStyle.Plain && scalar.Value is "" or "~" or "null" or "Null" or "NULL";

    private static bool IsFence(string line) => line.TrimEnd(' ', '\t') == Fence;

    /// <summary>Returns the parser's message without the position prefix YamlDotNet puts in front of it.</summary>
    private static string DescribeError(YamlException exception)
    {
        var message = exception.Message;
        var prefixEnd = message.IndexOf("): ", StringComparison.Ordinal);
        return prefixEnd >= 0 && message.StartsWith("(Line:", StringComparison.Ordinal)
            ? message[(prefixEnd + 3)..]
            : message;
    }

    /// <summary>Stops reading a value that nests deeper than <see cref="MaxNesting"/>.</summary>
    private sealed class NestingLimitException(long line) : Exception("The front matter nests too deeply.")
    {
        /// <summary>The line of the front matter, counted from 1, where the limit was passed.</summary>
        public long Line { get; } = line;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>read_file</c>: returns a text file of the workspace with line numbers, at most
/// <see cref="ToolOptions.MaxReadBytes"/> of output per call, followed by a note where the output stops early.
/// </summary>
public sealed class ReadFileTool(IOptions<ToolOptions> options) : IAgentTool
{
    /// <summary>Characters of one line shown before the rest of the line is cut off.</summary>
    internal const int MaxLineLength = 2000;

    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "path": { "type": "string", "description": "File path relative to the workspace folder." },
            "offset": { "type": "integer", "minimum": 1, "description": "First line to return, counting from 1. Defaults to 1." },
            "limit": { "type": "integer", "minimum": 1, "description": "Maximum number of lines to return. Defaults to as many as fit the size limit." }
          },
          "required": ["path"],
          "additionalProperties": false
        }
        """);

    private readonly int _maxBytes = options.Value.MaxReadBytes;

    public string Name => ToolNames.ReadFile;

    public string Description =>
        "Reads a text file in the workspace. Each line is prefixed with its line number and a tab. " +
        $"One call returns at most {_maxBytes / 1024} KiB of text. Use offset and limit to read a long file in parts.";

    public JsonElement ParametersSchema => Schema;

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var path = ToolArguments.GetRequiredString(arguments, "path");
        var offset = ToolArguments.GetOptionalInt(arguments, "offset", 1, int.MaxValue) ?? 1;
        var limit = ToolArguments.GetOptionalInt(arguments, "limit", 1, int.MaxValue) ?? int.MaxValue;

        var workspace = new Workspace(context.WorkspacePath);
        var fullPath = workspace.ResolvePath(path);
        try
        {
            return await ReadAsync(path, fullPath, offset, limit, cancellationToken);
        }
        catch (Exception exception) when (FileErrors.IsFileError(exception))
        {
            throw FileErrors.ToToolException(exception, path);
        }
    }

    private async Task<string> ReadAsync(string path, string fullPath, int offset, int limit, CancellationToken cancellationToken)
    {
        if (Directory.Exists(fullPath))
        {
            throw new ToolException("not_a_file", $"'{path}' is a folder. Use list_files to see its entries.");
        }

        var file = new FileInfo(fullPath);
        if (!file.Exists)
        {
            throw FileErrors.NotFound(path);
        }

        // An empty length is also what a named pipe reports, and opening one would block.
        if (file.Length == 0)
        {
            return $"'{path}' is empty.";
        }

        if (await TextFiles.IsBinaryAsync(fullPath, cancellationToken))
        {
            throw new ToolException("binary_file", $"'{path}' is a binary file. The read_file tool returns text files only.");
        }

        using var stream = new StreamReader(fullPath, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var reader = new BoundedLineReader(stream, MaxLineLength);
        var output = new StringBuilder();
        var usedBytes = 0;
        var lineNumber = 0;
        var shownLines = 0;
        while (await reader.ReadLineAsync(cancellationToken) is ({ } line, var fullLength))
        {
            lineNumber++;
            if (lineNumber < offset)
            {
                continue;
            }

            if (shownLines == limit)
            {
                return output.Append(CultureInfo.InvariantCulture, $"[Stopped after {limit} lines as requested. More lines follow. Call again with offset {lineNumber} to continue.]").ToString();
            }

            if (fullLength > MaxLineLength)
            {
                line = string.Concat(line, $" [line cut off after {MaxLineLength} of {fullLength} characters]");
            }

            var prefix = string.Create(CultureInfo.InvariantCulture, $"{lineNumber,6}\t");
            var lineBytes = prefix.Length + Encoding.UTF8.GetByteCount(line) + 1;
            if (usedBytes + lineBytes > _maxBytes && shownLines > 0)
            {
                return output.Append(CultureInfo.InvariantCulture, $"[Output truncated at {_maxBytes / 1024} KiB after line {lineNumber - 1}. Call again with offset {lineNumber} to continue.]").ToString();
            }

            usedBytes += lineBytes;
            shownLines++;
            output.Append(prefix).Append(line).Append('\n');
        }

        if (shownLines == 0)
        {
            return $"'{path}' has {lineNumber} lines, so offset {offset} is past its end.";
        }

        return output.ToString();
    }
}

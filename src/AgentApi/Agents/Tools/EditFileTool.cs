using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>edit_file</c>: replaces an exact piece of text in a workspace file. Without
/// <c>replace_all</c> the text must occur exactly once. The file and its new content may each be
/// at most <see cref="ToolOptions.MaxWriteBytes"/>.
/// </summary>
public sealed class EditFileTool(IOptions<ToolOptions> options) : IAgentTool
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "path": { "type": "string", "description": "File path relative to the workspace folder." },
            "old_text": { "type": "string", "description": "The exact text to replace, whitespace and line breaks included." },
            "new_text": { "type": "string", "description": "The text to put in its place." },
            "replace_all": { "type": "boolean", "description": "Replace every occurrence instead of requiring exactly one. Defaults to false." }
          },
          "required": ["path", "old_text", "new_text"],
          "additionalProperties": false
        }
        """);

    private readonly int _maxBytes = options.Value.MaxWriteBytes;

    public string Name => ToolNames.EditFile;

    public string Description =>
        "Replaces exact text in a file in the workspace. old_text must occur exactly once unless replace_all is true; " +
        "include enough surrounding lines to make it unique.";

    public JsonElement ParametersSchema => Schema;

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var path = ToolArguments.GetRequiredString(arguments, "path");
        var oldText = ToolArguments.GetRequiredString(arguments, "old_text");
        var newText = ToolArguments.GetRequiredString(arguments, "new_text");
        var replaceAll = ToolArguments.GetOptionalBool(arguments, "replace_all", defaultValue: false);
        if (oldText.Length == 0)
        {
            throw new ToolException("invalid_argument", "The argument 'old_text' is empty. Use write_file to write a whole file.");
        }

        var workspace = new Workspace(context.WorkspacePath);
        var fullPath = workspace.ResolvePath(path);
        try
        {
            return await EditAsync(path, fullPath, oldText, newText, replaceAll, cancellationToken);
        }
        catch (Exception exception) when (FileErrors.IsFileError(exception))
        {
            throw FileErrors.ToToolException(exception, path);
        }
    }

    private async Task<string> EditAsync(
        string path,
        string fullPath,
        string oldText,
        string newText,
        bool replaceAll,
        CancellationToken cancellationToken)
    {
        var file = new FileInfo(fullPath);
        if (Directory.Exists(fullPath))
        {
            throw new ToolException("not_a_file", $"'{path}' is a folder, not a file.");
        }

        if (!file.Exists)
        {
            throw FileErrors.NotFound(path);
        }

        if (file.Length > _maxBytes)
        {
            throw new ToolException("too_large", $"'{path}' is {file.Length} bytes, above the edit limit of {_maxBytes} bytes.");
        }

        // An empty length is also what a named pipe reports, and opening one would block.
        var bytes = file.Length == 0 ? [] : await File.ReadAllBytesAsync(fullPath, cancellationToken);
        if (TextFiles.LooksBinary(bytes.AsSpan(0, Math.Min(bytes.Length, TextFiles.SniffLength))))
        {
            throw new ToolException("binary_file", $"'{path}' is a binary file. The edit_file tool changes text files only.");
        }

        var hasBom = bytes.AsSpan().StartsWith(Utf8Bom);
        string text;
        try
        {
            text = WriteFileTool.Utf8.GetString(hasBom ? bytes.AsSpan(Utf8Bom.Length) : bytes);
        }
        catch (DecoderFallbackException)
        {
            // Decoding with replacement characters and writing back would corrupt the file.
            throw new ToolException("invalid_encoding", $"'{path}' is not valid UTF-8, so edit_file cannot change it without corrupting it.");
        }

        var count = CountOccurrences(text, oldText);
        if (count == 0)
        {
            throw new ToolException("no_match", $"old_text was not found in '{path}'. Read the file again and copy the text exactly, whitespace included.");
        }

        if (count > 1 && !replaceAll)
        {
            throw new ToolException(
                "not_unique",
                $"old_text occurs {count} times in '{path}'. Include more surrounding text to make it unique, or set replace_all to true.");
        }

        var updated = replaceAll
            ? text.Replace(oldText, newText, StringComparison.Ordinal)
            : ReplaceFirst(text, oldText, newText);
        var encoded = WriteFileTool.EncodeWithinLimit(updated, _maxBytes - (hasBom ? Utf8Bom.Length : 0));
        byte[] output = hasBom ? [.. Utf8Bom, .. encoded] : encoded;
        await WriteFileTool.WriteAsync(path, fullPath, output, cancellationToken);

        return count == 1 ? $"Replaced 1 occurrence in '{path}'." : $"Replaced {count} occurrences in '{path}'.";
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string ReplaceFirst(string text, string oldText, string newText)
    {
        var index = text.IndexOf(oldText, StringComparison.Ordinal);
        return string.Concat(text.AsSpan(0, index), newText, text.AsSpan(index + oldText.Length));
    }
}

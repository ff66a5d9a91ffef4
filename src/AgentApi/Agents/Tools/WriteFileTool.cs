using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>write_file</c>: writes UTF-8 text to a workspace file, creating missing parent folders
/// and replacing an existing file. Content above <see cref="ToolOptions.MaxWriteBytes"/> is rejected.
/// </summary>
public sealed class WriteFileTool(IOptions<ToolOptions> options) : IAgentTool
{
    /// <summary>UTF-8 without a byte order mark, as most tools expect source files.</summary>
    internal static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "path": { "type": "string", "description": "File path relative to the workspace folder. Missing parent folders are created." },
            "content": { "type": "string", "description": "The complete new text of the file." }
          },
          "required": ["path", "content"],
          "additionalProperties": false
        }
        """);

    private readonly int _maxBytes = options.Value.MaxWriteBytes;

    public string Name => ToolNames.WriteFile;

    public string Description =>
        "Writes text to a file in the workspace as UTF-8, replacing the file if it exists and creating missing folders. " +
        $"The content may be at most {_maxBytes / 1024} KiB.";

    public JsonElement ParametersSchema => Schema;

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var path = ToolArguments.GetRequiredString(arguments, "path");
        var content = ToolArguments.GetRequiredString(arguments, "content");
        var bytes = EncodeWithinLimit(content, _maxBytes);

        var workspace = new Workspace(context.WorkspacePath);
        var fullPath = workspace.ResolvePath(path);
        try
        {
            await WriteAsync(path, fullPath, bytes, cancellationToken);
        }
        catch (Exception exception) when (FileErrors.IsFileError(exception))
        {
            throw FileErrors.ToToolException(exception, path);
        }

        return $"Wrote {bytes.Length} bytes to '{path}'.";
    }

    /// <summary>Encodes text as UTF-8, rejecting more than <paramref name="maxBytes"/> bytes and unpaired surrogates.</summary>
    internal static byte[] EncodeWithinLimit(string content, int maxBytes)
    {
        int byteCount;
        try
        {
            byteCount = Utf8.GetByteCount(content);
        }
        catch (EncoderFallbackException)
        {
            throw new ToolException("invalid_argument", "The content contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode.");
        }

        if (byteCount > maxBytes)
        {
            throw new ToolException(
                "too_large",
                $"The content is {byteCount} bytes, above the limit of {maxBytes} bytes. Write the file in smaller parts or shorten it.");
        }

        return Utf8.GetBytes(content);
    }

    /// <summary>Writes <paramref name="bytes"/> to a path that <see cref="Workspace.ResolvePath"/> returned, creating its parent folders.</summary>
    internal static async Task WriteAsync(string path, string fullPath, byte[] bytes, CancellationToken cancellationToken)
    {
        if (Directory.Exists(fullPath))
        {
            throw new ToolException("not_a_file", $"'{path}' is a folder, so it cannot be written as a file.");
        }

        // Every existing folder along the resolved path is inside the workspace, and the
        // folders created here are new, so they are inside as well.
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);

        // NOTE: a named pipe at this path would block the write until something reads it.
        await File.WriteAllBytesAsync(fullPath, bytes, cancellationToken);
    }
}

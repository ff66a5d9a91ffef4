using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>list_files</c>: returns the entries of one workspace folder in ordinal order, folders with a
/// trailing <c>/</c>, at most <see cref="ToolOptions.MaxEntries"/> of them. Symbolic links whose
/// target is outside the workspace are left out.
/// </summary>
public sealed class ListFilesTool(IOptions<ToolOptions> options) : IAgentTool
{
    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "path": { "type": "string", "description": "Folder path relative to the workspace folder. Defaults to \".\", the workspace folder." }
          },
          "additionalProperties": false
        }
        """);

    private readonly int _maxEntries = options.Value.MaxEntries;

    public string Name => ToolNames.ListFiles;

    public string Description =>
        "Lists the files and folders in a workspace folder, sorted by name. Folder names end with '/'. " +
        $"At most {_maxEntries} entries are returned.";

    public JsonElement ParametersSchema => Schema;

    public Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var path = ToolArguments.GetOptionalString(arguments, "path") ?? ".";
        var workspace = new Workspace(context.WorkspacePath);
        var fullPath = workspace.ResolvePath(path);
        try
        {
            return Task.FromResult(List(workspace, path, fullPath));
        }
        catch (Exception exception) when (FileErrors.IsFileError(exception))
        {
            throw FileErrors.ToToolException(exception, path);
        }
    }

    private string List(Workspace workspace, string path, string fullPath)
    {
        if (!Directory.Exists(fullPath))
        {
            throw File.Exists(fullPath)
                ? new ToolException("not_a_directory", $"'{path}' is a file. Use read_file to read it.")
                : FileErrors.NotFound(path);
        }

        var names = workspace.EnumerateEntries(fullPath)
            .Select(entry => Path.GetFileName(entry.Path) + (entry.Kind == WorkspaceEntryKind.Directory ? "/" : ""))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (names.Count == 0)
        {
            return $"'{path}' is empty.";
        }

        var output = new StringBuilder();
        foreach (var name in names.Take(_maxEntries))
        {
            output.Append(name).Append('\n');
        }

        if (names.Count > _maxEntries)
        {
            output.Append($"[{names.Count - _maxEntries} more entries not shown. At most {_maxEntries} are listed.]");
        }

        return output.ToString();
    }
}

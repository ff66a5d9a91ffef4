using System.Text;
using System.Text.Json;
using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>glob</c>: returns the workspace files that match a glob pattern, as paths relative to the
/// workspace folder in ordinal order, at most <see cref="ToolOptions.MaxEntries"/> of them.
/// </summary>
public sealed class GlobTool(IOptions<ToolOptions> options) : IAgentTool
{
    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "pattern": { "type": "string", "description": "Glob pattern such as \"**/*.cs\" or \"src/*.json\"; ** matches any number of folders." },
            "path": { "type": "string", "description": "Folder to search, relative to the workspace folder. The pattern is relative to it. Defaults to the workspace folder." }
          },
          "required": ["pattern"],
          "additionalProperties": false
        }
        """);

    private readonly ToolOptions _options = options.Value;

    public string Name => ToolNames.Glob;

    public string Description =>
        "Finds files whose path matches a glob pattern (*, ?, ** for any number of folders). " +
        $"Returns paths relative to the workspace folder, sorted, at most {_options.MaxEntries} of them.";

    public JsonElement ParametersSchema => Schema;

    public Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var pattern = ToolArguments.GetRequiredString(arguments, "pattern");
        if (string.IsNullOrWhiteSpace(pattern))
        {
            throw new ToolException("invalid_argument", "The argument 'pattern' is empty. Give a glob pattern such as \"**/*.cs\".");
        }

        var path = ToolArguments.GetOptionalString(arguments, "path") ?? ".";
        var workspace = new Workspace(context.WorkspacePath);
        var fullPath = workspace.ResolvePath(path);
        if (!Directory.Exists(fullPath))
        {
            throw File.Exists(fullPath)
                ? new ToolException("not_a_directory", $"'{path}' is a file. Give the folder to search.")
                : FileErrors.NotFound(path);
        }

        var (files, scanTruncated) = WorkspaceScanner.ScanFiles(workspace, fullPath, _options.MaxScannedFiles, cancellationToken);
        var matches = Match(pattern, fullPath, files)
            .Select(workspace.GetRelativePath)
            .Order(StringComparer.Ordinal)
            .ToList();

        return Task.FromResult(Format(pattern, matches, scanTruncated));
    }

    /// <summary>
    /// Matches the listed paths in memory, so that the matcher never walks the disk itself,
    /// where it would enter symbolic links.
    /// </summary>
    internal static IEnumerable<string> Match(string pattern, string directory, IEnumerable<WorkspaceEntry> files)
    {
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(pattern);
        return matcher.Match(directory, files.Select(file => file.Path))
            .Files
            .Select(match => Path.GetFullPath(Path.Join(directory, match.Path)));
    }

    private string Format(string pattern, List<string> matches, bool scanTruncated)
    {
        var output = new StringBuilder();
        foreach (var match in matches.Take(_options.MaxEntries))
        {
            output.Append(match).Append('\n');
        }

        if (matches.Count == 0)
        {
            output.Append($"No files match '{pattern}'.\n");
        }

        if (matches.Count > _options.MaxEntries)
        {
            output.Append($"[{matches.Count - _options.MaxEntries} more matches not shown. At most {_options.MaxEntries} are listed.]\n");
        }

        if (scanTruncated)
        {
            output.Append($"[The search stopped after {_options.MaxScannedFiles} files, so matches may be missing. Search a smaller folder.]\n");
        }

        return output.ToString().TrimEnd('\n');
    }
}

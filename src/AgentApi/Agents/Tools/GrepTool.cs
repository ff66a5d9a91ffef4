using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>grep</c>: searches workspace text files for a .NET regular expression and returns
/// <c>relative/path:line: text</c> lines, at most <see cref="ToolOptions.MaxGrepMatches"/> of them.
/// Binary files, files above <see cref="ToolOptions.MaxGrepFileBytes"/> and symbolic links whose
/// target is outside the workspace are skipped.
/// </summary>
public sealed class GrepTool(IOptions<ToolOptions> options) : IAgentTool
{
    /// <summary>Characters of a matching line shown before the rest is cut off.</summary>
    internal const int MaxLineLength = 500;

    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "pattern": { "type": "string", "description": ".NET regular expression matched against each line, case-sensitive unless it starts with (?i)." },
            "path": { "type": "string", "description": "File or folder to search, relative to the workspace folder. Defaults to the workspace folder." },
            "glob": { "type": "string", "description": "Only search files whose path below 'path' matches this glob pattern, such as \"**/*.cs\"." }
          },
          "required": ["pattern"],
          "additionalProperties": false
        }
        """);

    private readonly ToolOptions _options = options.Value;

    public string Name => ToolNames.Grep;

    public string Description =>
        "Searches the text files in the workspace for a .NET regular expression, line by line. " +
        $"Returns 'path:line: text' lines, at most {_options.MaxGrepMatches} of them. Binary files are skipped.";

    public JsonElement ParametersSchema => Schema;

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var pattern = ToolArguments.GetRequiredString(arguments, "pattern");
        var path = ToolArguments.GetOptionalString(arguments, "path") ?? ".";
        var glob = ToolArguments.GetOptionalString(arguments, "glob");
        var regex = CreateRegex(pattern);

        var workspace = new Workspace(context.WorkspacePath);
        var fullPath = workspace.ResolvePath(path);
        var (files, scanTruncated) = FindFiles(workspace, path, fullPath, glob, cancellationToken);

        var output = new StringBuilder();
        var matchCount = 0;
        var skippedLarge = 0;
        foreach (var file in files)
        {
            var (matches, skipped) = await SearchFileAsync(workspace, file, regex, _options.MaxGrepMatches - matchCount, output, cancellationToken);
            matchCount += matches;
            skippedLarge += skipped ? 1 : 0;
            if (matchCount == _options.MaxGrepMatches)
            {
                output.Append(CultureInfo.InvariantCulture, $"[Stopped at {matchCount} matching lines. Narrow the pattern, path or glob to see the rest.]\n");
                break;
            }
        }

        if (matchCount == 0)
        {
            output.Append(CultureInfo.InvariantCulture, $"No lines match '{pattern}'.\n");
        }

        if (skippedLarge > 0)
        {
            output.Append(CultureInfo.InvariantCulture, $"[{skippedLarge} files larger than {_options.MaxGrepFileBytes} bytes were not searched.]\n");
        }

        if (scanTruncated)
        {
            output.Append(CultureInfo.InvariantCulture, $"[The search stopped after {_options.MaxScannedFiles} files, so matches may be missing. Search a smaller folder.]\n");
        }

        return output.ToString().TrimEnd('\n');
    }

    private Regex CreateRegex(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, _options.GrepMatchTimeout);
        }
        catch (ArgumentException exception)
        {
            throw new ToolException("invalid_argument", $"The pattern is not a valid .NET regular expression: {exception.Message}");
        }
    }

    private (List<WorkspaceEntry> Files, bool Truncated) FindFiles(
        Workspace workspace,
        string path,
        string fullPath,
        string? glob,
        CancellationToken cancellationToken)
    {
        if (File.Exists(fullPath))
        {
            return ([new WorkspaceEntry(fullPath, fullPath, WorkspaceEntryKind.File, IsLink: false)], false);
        }

        if (!Directory.Exists(fullPath))
        {
            throw FileErrors.NotFound(path);
        }

        var (files, truncated) = WorkspaceScanner.ScanFiles(workspace, fullPath, _options.MaxScannedFiles, cancellationToken);
        if (!string.IsNullOrWhiteSpace(glob))
        {
            var matching = GlobTool.Match(glob, fullPath, files).ToHashSet(StringComparer.Ordinal);
            files = files.Where(file => matching.Contains(file.Path)).ToList();
        }

        files.Sort((left, right) => string.CompareOrdinal(left.Path, right.Path));
        return (files, truncated);
    }

    /// <summary>
    /// Appends the matching lines of one file, at most <paramref name="maxMatches"/>. Returns
    /// their count and whether the file was skipped for its size.
    /// </summary>
    private async Task<(int Matches, bool SkippedLarge)> SearchFileAsync(
        Workspace workspace,
        WorkspaceEntry file,
        Regex regex,
        int maxMatches,
        StringBuilder output,
        CancellationToken cancellationToken)
    {
        var relativePath = workspace.GetRelativePath(file.Path);
        try
        {
            var info = new FileInfo(file.RealPath);

            // An empty length is also what a named pipe reports, and opening one would block.
            if (info.Length == 0)
            {
                return (0, false);
            }

            if (info.Length > _options.MaxGrepFileBytes)
            {
                return (0, true);
            }

            if (await TextFiles.IsBinaryAsync(file.RealPath, cancellationToken))
            {
                return (0, false);
            }

            using var reader = new StreamReader(file.RealPath, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            var matches = 0;
            var lineNumber = 0;
            string? line;
            while (matches < maxMatches && (line = await reader.ReadLineAsync(cancellationToken)) is not null)
            {
                lineNumber++;
                if (!regex.IsMatch(line))
                {
                    continue;
                }

                matches++;
                var displayedLine = line.Length > MaxLineLength ? string.Concat(line.AsSpan(0, MaxLineLength), " […]") : line;
                output.Append(CultureInfo.InvariantCulture, $"{relativePath}:{lineNumber}: ").Append(displayedLine).Append('\n');
            }

            return (matches, false);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new ToolException(
                "timeout",
                $"The pattern took longer than {_options.GrepMatchTimeout.TotalMilliseconds} ms on one line of '{relativePath}'. Simplify it, for example by removing nested quantifiers.");
        }
        catch (Exception exception) when (FileErrors.IsFileError(exception))
        {
            // Removed or unreadable since the walk listed it. The other files are still searched.
            return (0, false);
        }
    }
}

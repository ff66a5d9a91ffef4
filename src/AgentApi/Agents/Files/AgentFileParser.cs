using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using AgentApi.Agents.Tools;

namespace AgentApi.Agents.Files;

/// <summary>
/// Turns the text of one agent file into an <see cref="AgentDefinition"/>: YAML front matter with
/// <c>name</c>, <c>description</c>, <c>tools</c>, <c>disallowedTools</c>, <c>model</c> and
/// <c>maxTurns</c>, then the system prompt as the Markdown body. A process agent sets
/// <c>command</c> and the keys <see cref="ProcessAgentFields"/> reads, and may leave the body
/// empty. Other keys are ignored.
/// </summary>
internal static partial class AgentFileParser
{
    /// <summary>Maximum <c>maxTurns</c> a file may set. It is a sanity bound: a larger value is most likely a typo.</summary>
    public const int MaxTurnsLimit = 1000;

    private const string NameKey = "name";
    private const string DescriptionKey = "description";
    private const string ToolsKey = "tools";
    private const string DisallowedToolsKey = "disallowedTools";
    private const string ModelKey = "model";
    private const string MaxTurnsKey = "maxTurns";

    /// <summary>
    /// Parses <paramref name="text"/>. Every problem found is joined into <paramref name="reason"/>.
    /// </summary>
    /// <param name="text">The file's content.</param>
    /// <param name="source">The file's path, stored as the definition's source.</param>
    /// <param name="modelNames">The models configured under <c>Models</c>, including <c>Default</c>.</param>
    /// <param name="definition">The agent, when the file is valid.</param>
    /// <param name="reason">What is wrong, when it is not. It quotes no more of the file than a bad value, shortened to 64 characters.</param>
    public static bool TryParse(
        string text,
        string source,
        IReadOnlyCollection<string> modelNames,
        [NotNullWhen(true)] out AgentDefinition? definition,
        [NotNullWhen(false)] out string? reason)
    {
        definition = null;
        if (!FrontMatter.TrySplit(text, out var yaml, out var body, out reason)
            || !FrontMatter.TryRead(yaml, out var values, out reason))
        {
            return false;
        }

        List<string> errors = [];
        var name = ReadName(values, errors);
        var description = ReadText(values, DescriptionKey, errors);
        var tools = ReadTools(values, ToolsKey, errors);
        var disallowedTools = ReadTools(values, DisallowedToolsKey, errors) ?? [];
        var model = ReadModel(values, modelNames, errors);
        var maxTurns = ReadMaxTurns(values, errors);
        var process = ProcessAgentFields.Read(values, errors);
        var isProcessAgent = values.GetValueOrDefault("command", FrontMatterValue.Null).Kind != FrontMatterValueKind.Null;

        // A process agent's body describes it for people; nothing is sent to a model.
        var systemPrompt = body.Trim();
        if (systemPrompt.Length == 0 && !isProcessAgent)
        {
            errors.Add("the system prompt is empty: write it as Markdown after the closing '---' line");
        }

        if (errors.Count > 0)
        {
            reason = string.Join("; ", errors);
            return false;
        }

        definition = new AgentDefinition(name!, description!, tools, disallowedTools, model!, maxTurns, systemPrompt, source)
        {
            Process = process,
        };
        return true;
    }

    private static string? ReadName(IReadOnlyDictionary<string, FrontMatterValue> values, List<string> errors)
    {
        var name = ReadText(values, NameKey, errors);
        if (name is not null && !NamePattern().IsMatch(name))
        {
            errors.Add($"'name' '{AgentFileText.Quote(name)}' is invalid: use 1 to 64 lowercase letters, digits and hyphens, starting with a letter or digit");
            return null;
        }

        return name;
    }

    private static string? ReadText(IReadOnlyDictionary<string, FrontMatterValue> values, string key, List<string> errors)
    {
        var value = values.GetValueOrDefault(key, FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null || value.Text?.Trim().Length == 0)
        {
            errors.Add($"'{key}' is missing");
            return null;
        }

        if (value.Kind != FrontMatterValueKind.Scalar)
        {
            errors.Add($"'{key}' must be a single string, not a {Describe(value.Kind)}");
            return null;
        }

        return value.Text!.Trim();
    }

    /// <summary>Reads a tool list written as a YAML list or a comma-separated string. Returns null when the key is absent.</summary>
    private static IReadOnlyList<string>? ReadTools(IReadOnlyDictionary<string, FrontMatterValue> values, string key, List<string> errors)
    {
        var value = values.GetValueOrDefault(key, FrontMatterValue.Null);
        IEnumerable<string> names;
        switch (value.Kind)
        {
            case FrontMatterValueKind.Null:
                return null;
            case FrontMatterValueKind.Scalar:
                names = value.Text!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                break;
            case FrontMatterValueKind.List:
                names = value.Items!.Select(item => item.Trim()).Where(item => item.Length > 0);
                break;
            default:
                errors.Add($"'{key}' must be a list of tool names or a comma-separated string, not a {Describe(value.Kind)}");
                return null;
        }

        var tools = names.Distinct(StringComparer.Ordinal).ToList();
        var unknown = tools.Where(tool => !ToolNames.All.Contains(tool)).ToList();
        if (unknown.Count > 0)
        {
            var quoted = string.Join(", ", unknown.Select(tool => $"'{AgentFileText.Quote(tool)}'"));
            errors.Add($"'{key}' names unknown tools {quoted}; known tools: {string.Join(", ", ToolNames.All.Order(StringComparer.Ordinal))}");
            return null;
        }

        return tools;
    }

    /// <summary>Reads the model: <c>inherit</c>, or a configured model name in its configured spelling.</summary>
    private static string? ReadModel(
        IReadOnlyDictionary<string, FrontMatterValue> values,
        IReadOnlyCollection<string> modelNames,
        List<string> errors)
    {
        var value = values.GetValueOrDefault(ModelKey, FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return AgentCatalog.InheritModel;
        }

        if (value.Kind != FrontMatterValueKind.Scalar)
        {
            errors.Add($"'{ModelKey}' must be a single model name, not a {Describe(value.Kind)}");
            return null;
        }

        var model = value.Text!.Trim();
        if (string.Equals(model, AgentCatalog.InheritModel, StringComparison.OrdinalIgnoreCase))
        {
            return AgentCatalog.InheritModel;
        }

        var configured = modelNames.FirstOrDefault(name => string.Equals(name, model, StringComparison.OrdinalIgnoreCase));
        if (configured is null)
        {
            var known = string.Join(", ", modelNames.Order(StringComparer.OrdinalIgnoreCase));
            errors.Add($"'{ModelKey}' names unknown model '{AgentFileText.Quote(model)}'; use '{AgentCatalog.InheritModel}' or a model configured under Models: {known}");
        }

        return configured;
    }

    private static int? ReadMaxTurns(IReadOnlyDictionary<string, FrontMatterValue> values, List<string> errors)
    {
        var value = values.GetValueOrDefault(MaxTurnsKey, FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return null;
        }

        if (value.Kind == FrontMatterValueKind.Scalar
            && int.TryParse(value.Text!.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var maxTurns)
            && maxTurns is >= 1 and <= MaxTurnsLimit)
        {
            return maxTurns;
        }

        var got = value.Kind == FrontMatterValueKind.Scalar ? $"'{AgentFileText.Quote(value.Text!)}'" : $"a {Describe(value.Kind)}";
        errors.Add($"'{MaxTurnsKey}' must be a whole number from 1 to {MaxTurnsLimit}; got {got}");
        return null;
    }

    private static string Describe(FrontMatterValueKind kind) => kind switch
    {
        FrontMatterValueKind.List => "list",
        FrontMatterValueKind.ComplexList => "list with empty or nested items",
        FrontMatterValueKind.Mapping => "mapping",
        FrontMatterValueKind.Alias => "YAML alias",
        _ => "string",
    };

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,63}\z")]
    private static partial Regex NamePattern();
}

using System.Globalization;
using System.Text.RegularExpressions;
using AgentApi.Processes;

namespace AgentApi.Agents.Files;

/// <summary>
/// Reads the front matter keys of a process agent: <c>command</c>, <c>args</c>,
/// <c>workingDirectory</c>, <c>env</c> and the limits <c>cpus</c>, <c>cpuQuota</c>,
/// <c>memoryLimit</c>, <c>pidsLimit</c> and <c>timeoutSeconds</c>. A file with <c>command</c>
/// is a process agent; one that sets the other keys without it is invalid.
/// </summary>
internal static partial class ProcessAgentFields
{
    /// <summary>Maximum <c>cpuQuota</c>, in cores. It is a sanity bound, as the kernel accepts more.</summary>
    public const double MaxCpuQuota = 1024;

    /// <summary>Minimum <c>cpuQuota</c>: 1 ms per 100 ms period, the smallest quota the kernel accepts.</summary>
    public const double MinCpuQuota = 0.01;

    /// <summary>Minimum <c>memoryLimit</c>: 1 MiB. Less is most likely a missing suffix, and no program starts in it.</summary>
    public const long MinMemoryLimitBytes = 1L << 20;

    /// <summary>Maximum <c>pidsLimit</c>: 4,194,304, the kernel's largest <c>pid_max</c> on 64-bit systems.</summary>
    public const long MaxPidsLimit = 4_194_304;

    /// <summary>Maximum <c>timeoutSeconds</c>: 7 days.</summary>
    public const int MaxTimeoutSeconds = 7 * 24 * 3600;

    private const string CommandKey = "command";

    private static readonly string[] OtherKeys =
        ["args", "workingDirectory", "env", "cpus", "cpuQuota", "memoryLimit", "pidsLimit", "timeoutSeconds"];

    /// <summary>Returns the process agent's program, or null for a model agent or when <paramref name="errors"/> got entries.</summary>
    public static ProcessAgentSpec? Read(IReadOnlyDictionary<string, FrontMatterValue> values, List<string> errors)
    {
        var command = values.GetValueOrDefault(CommandKey, FrontMatterValue.Null);
        if (command.Kind == FrontMatterValueKind.Null)
        {
            var stray = OtherKeys.Where(key => values.GetValueOrDefault(key, FrontMatterValue.Null).Kind != FrontMatterValueKind.Null).ToList();
            if (stray.Count > 0)
            {
                errors.Add($"'{CommandKey}' is missing, but {string.Join(", ", stray.Select(key => $"'{key}'"))} only apply to a process agent: add the program to run as '{CommandKey}'");
            }

            return null;
        }

        var count = errors.Count;
        var program = ReadCommand(command, errors);
        var arguments = ReadArguments(values.GetValueOrDefault("args", FrontMatterValue.Null), errors);
        var workingDirectory = ReadOptionalText(values, "workingDirectory", errors);
        var (environment, inherited) = ReadEnvironment(values.GetValueOrDefault("env", FrontMatterValue.Null), errors);
        var limits = new ProcessLimits(
            ReadCpus(values, errors),
            ReadCpuQuota(values, errors),
            ReadMemoryLimit(values, errors),
            ReadWholeNumber(values, "pidsLimit", 1, MaxPidsLimit, errors),
            ReadWholeNumber(values, "timeoutSeconds", 1, MaxTimeoutSeconds, errors) is { } seconds ? TimeSpan.FromSeconds(seconds) : null);

        return errors.Count > count ? null : new ProcessAgentSpec(program!, arguments, workingDirectory, environment, inherited, limits);
    }

    private static string? ReadCommand(FrontMatterValue value, List<string> errors)
    {
        if (value.Kind != FrontMatterValueKind.Scalar || value.Text!.Trim().Length == 0)
        {
            errors.Add($"'{CommandKey}' must be the program to run, as a path or a name on PATH, not a {Describe(value.Kind)}");
            return null;
        }

        return value.Text.Trim();
    }

    private static IReadOnlyList<string> ReadArguments(FrontMatterValue value, List<string> errors)
    {
        switch (value.Kind)
        {
            case FrontMatterValueKind.Null:
                return [];
            case FrontMatterValueKind.List:
                return value.Items!;
            default:
                errors.Add($"'args' must be a list of arguments, such as [\"--task\", \"{{input}}\"], not a {Describe(value.Kind)}");
                return [];
        }
    }

    private static string? ReadOptionalText(IReadOnlyDictionary<string, FrontMatterValue> values, string key, List<string> errors)
    {
        var value = values.GetValueOrDefault(key, FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return null;
        }

        if (value.Kind != FrontMatterValueKind.Scalar || value.Text!.Trim().Length == 0)
        {
            errors.Add($"'{key}' must be a single path, not a {Describe(value.Kind)}");
            return null;
        }

        return value.Text.Trim();
    }

    /// <summary>
    /// Reads <c>env</c>: a mapping of names to values set for the program, or a list of names of
    /// the service's own variables passed on.
    /// </summary>
    private static (IReadOnlyDictionary<string, string> Set, IReadOnlyList<string> Inherited) ReadEnvironment(FrontMatterValue value, List<string> errors)
    {
        Dictionary<string, string> set = new(StringComparer.Ordinal);
        List<string> inherited = [];
        IEnumerable<string> names;
        switch (value.Kind)
        {
            case FrontMatterValueKind.Null:
                return (set, inherited);
            case FrontMatterValueKind.Mapping when value.Entries is not null:
                foreach (var (name, text) in value.Entries)
                {
                    set[name] = text;
                }

                names = set.Keys;
                break;
            case FrontMatterValueKind.List:
                inherited.AddRange(value.Items!.Select(item => item.Trim()));
                names = inherited;
                break;
            default:
                errors.Add($"'env' must be a mapping of variable names to values, or a list of names to pass on from the service, not a {Describe(value.Kind)}");
                return (set, inherited);
        }

        var invalid = names.Where(name => !VariableNamePattern().IsMatch(name)).ToList();
        if (invalid.Count > 0)
        {
            errors.Add($"'env' has invalid variable names {string.Join(", ", invalid.Select(name => $"'{AgentFileText.Quote(name)}'"))}: use letters, digits and '_', not starting with a digit");
        }

        return (set, inherited);
    }

    private static string? ReadCpus(IReadOnlyDictionary<string, FrontMatterValue> values, List<string> errors)
    {
        var value = values.GetValueOrDefault("cpus", FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return null;
        }

        if (value.Kind == FrontMatterValueKind.Scalar && value.Text!.Trim().Length > 0 && CpuAffinity.TryParseList(value.Text, out _))
        {
            return value.Text.Trim();
        }

        errors.Add($"'cpus' must be a CPU list such as '0-1' or '2,3'; got {Got(value)}");
        return null;
    }

    private static double? ReadCpuQuota(IReadOnlyDictionary<string, FrontMatterValue> values, List<string> errors)
    {
        var value = values.GetValueOrDefault("cpuQuota", FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return null;
        }

        if (value.Kind == FrontMatterValueKind.Scalar
            && double.TryParse(value.Text!.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var quota)
            && quota is >= MinCpuQuota and <= MaxCpuQuota)
        {
            return quota;
        }

        errors.Add($"'cpuQuota' must be a number of cores from {MinCpuQuota.ToString(CultureInfo.InvariantCulture)} to {MaxCpuQuota.ToString(CultureInfo.InvariantCulture)}, such as 0.5; got {Got(value)}");
        return null;
    }

    private static long? ReadMemoryLimit(IReadOnlyDictionary<string, FrontMatterValue> values, List<string> errors)
    {
        var value = values.GetValueOrDefault("memoryLimit", FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return null;
        }

        if (value.Kind == FrontMatterValueKind.Scalar && ByteSize.TryParse(value.Text!, out var bytes) && bytes >= MinMemoryLimitBytes)
        {
            return bytes;
        }

        errors.Add($"'memoryLimit' must be a size of at least 1Mi, in bytes or with a suffix Ki, Mi, Gi, Ti (or K, M, G, T), such as 512Mi; got {Got(value)}");
        return null;
    }

    private static long? ReadWholeNumber(IReadOnlyDictionary<string, FrontMatterValue> values, string key, long min, long max, List<string> errors)
    {
        var value = values.GetValueOrDefault(key, FrontMatterValue.Null);
        if (value.Kind == FrontMatterValueKind.Null)
        {
            return null;
        }

        if (value.Kind == FrontMatterValueKind.Scalar
            && long.TryParse(value.Text!.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && number >= min && number <= max)
        {
            return number;
        }

        errors.Add($"'{key}' must be a whole number from {min} to {max}; got {Got(value)}");
        return null;
    }

    private static string Got(FrontMatterValue value) =>
        value.Kind == FrontMatterValueKind.Scalar ? $"'{AgentFileText.Quote(value.Text!)}'" : $"a {Describe(value.Kind)}";

    private static string Describe(FrontMatterValueKind kind) => kind switch
    {
        FrontMatterValueKind.List => "list",
        FrontMatterValueKind.ComplexList => "list with empty or nested items",
        FrontMatterValueKind.Mapping => "mapping",
        FrontMatterValueKind.Alias => "YAML alias",
        _ => "string",
    };

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex VariableNamePattern();
}

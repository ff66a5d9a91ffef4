using System.Text.RegularExpressions;

namespace AgentApi.Lanes;

/// <summary>The declared lanes: the built-in ones plus every <c>Lanes:&lt;name&gt;</c> in configuration.</summary>
public sealed partial class LaneCatalog
{
    private readonly Dictionary<string, int> _limits;
    private readonly Dictionary<string, string> _cpuLists = new(StringComparer.Ordinal);

    public LaneCatalog(IConfiguration configuration)
    {
        _limits = new Dictionary<string, int>(LaneNames.BuiltInLimits, StringComparer.Ordinal);
        foreach (var section in configuration.GetSection(LaneOptions.SectionName).GetChildren())
        {
            if (!LaneNamePattern().IsMatch(section.Key))
            {
                throw new InvalidOperationException(
                    $"Lane name '{section.Key}' in Lanes is invalid; use lower-case letters, digits, '-' and '_' (at most 64).");
            }

            var options = section.Get<LaneOptions>() ?? new LaneOptions();
            var limit = options.MaxConcurrent ?? _limits.GetValueOrDefault(section.Key, 1);
            if (limit < 0)
            {
                throw new InvalidOperationException(
                    $"Lanes:{section.Key}:MaxConcurrent is {limit}; use 0 (paused) or more.");
            }

            _limits[section.Key] = limit;
            if (options.Cpus is { } cpus)
            {
                if (cpus.Trim().Length == 0 || !Processes.CpuAffinity.TryParseList(cpus, out _))
                {
                    throw new InvalidOperationException(
                        $"Lanes:{section.Key}:Cpus is '{Errors.MessageText.Quote(cpus)}', which is not a CPU list; write CPU numbers and ranges such as '0-1' or '2,3'.");
                }

                _cpuLists[section.Key] = cpus.Trim();
            }
        }
    }

    public IEnumerable<string> Names => _limits.Keys.Order(StringComparer.Ordinal);

    public bool Contains(string name) => _limits.ContainsKey(name);

    /// <summary>The CPU list of each lane that sets <c>Cpus</c>.</summary>
    public IReadOnlyDictionary<string, string> CpuLists => _cpuLists;

    /// <summary>The configured limit of each lane, as read at start-up.</summary>
    public IReadOnlyDictionary<string, int> InitialLimits => _limits;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex LaneNamePattern();
}

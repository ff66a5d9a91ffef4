using System.Collections.Frozen;

namespace AgentApi.Agents;

/// <summary>
/// One immutable state of the <see cref="AgentCatalog"/>: the usable agents and the skipped files
/// of one reload. A reload replaces the whole snapshot, so a reader that keeps one reads a
/// consistent list.
/// </summary>
public sealed class AgentCatalogSnapshot
{
    private readonly FrozenDictionary<string, AgentDefinition> _byName;

    internal AgentCatalogSnapshot(long version, IEnumerable<AgentDefinition> agents, IEnumerable<BrokenAgentFile> broken)
    {
        Version = version;
        _byName = agents.ToFrozenDictionary(agent => agent.Name, StringComparer.Ordinal);
        Agents = [.. _byName.Values.OrderBy(agent => agent.Name, StringComparer.Ordinal)];
        Names = [.. Agents.Select(agent => agent.Name)];
        Broken = [.. broken.OrderBy(file => file.File, StringComparer.Ordinal)];
    }

    /// <summary>The count of reloads that led to this snapshot, or 0 for the built-in agents alone.</summary>
    public long Version { get; }

    /// <summary>Every usable agent, sorted by name.</summary>
    public IReadOnlyList<AgentDefinition> Agents { get; }

    /// <summary>The agent names, sorted.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The agent files that were skipped, sorted by path.</summary>
    public IReadOnlyList<BrokenAgentFile> Broken { get; }

    /// <summary>Returns the agent named <paramref name="name"/> (case-sensitive), or null.</summary>
    public AgentDefinition? Find(string name) => _byName.GetValueOrDefault(name);
}

using System.Collections.Frozen;
using AgentApi.Agents.Tools;

namespace AgentApi.Agents;

/// <summary>The agents tasks may name. For now these are the three built-in agents.</summary>
public sealed class AgentCatalog
{
    public const string DefaultAgent = "general-purpose";
    public const string InheritModel = "inherit";
    private const string BuiltInSource = "built-in";

    private readonly FrozenDictionary<string, AgentDefinition> _agents = new AgentDefinition[]
    {
        new(
            DefaultAgent,
            "A capable agent for multi-step work: research, code and writing, with every tool.",
            Tools: null,
            DisallowedTools: [],
            InheritModel,
            MaxTurns: null,
            "You are a capable general-purpose agent. Work step by step and give a complete, accurate answer.",
            BuiltInSource),
        new(
            "explore",
            "A fast read-only agent that searches and reads files to answer questions about them.",
            ToolNames.ReadOnly,
            DisallowedTools: [],
            InheritModel,
            MaxTurns: null,
            "You are a read-only exploration agent. Find and read what is relevant and report what you found, with paths.",
            BuiltInSource),
        new(
            "plan",
            "A read-only agent for research and planning: it investigates and proposes a plan, changing nothing.",
            ToolNames.ReadOnly,
            DisallowedTools: [],
            InheritModel,
            MaxTurns: null,
            "You are a planning agent. Investigate without changing anything and answer with a clear, ordered plan.",
            BuiltInSource),
    }.ToFrozenDictionary(agent => agent.Name, StringComparer.Ordinal);

    public IEnumerable<AgentDefinition> All => _agents.Values.OrderBy(agent => agent.Name, StringComparer.Ordinal);

    public IEnumerable<string> Names => _agents.Keys.Order(StringComparer.Ordinal);

    public AgentDefinition? Find(string name) => _agents.GetValueOrDefault(name);
}

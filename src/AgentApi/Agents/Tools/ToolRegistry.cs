using System.Collections.Frozen;

namespace AgentApi.Agents.Tools;

/// <summary>Every tool the service offers, by name.</summary>
public sealed class ToolRegistry(IEnumerable<IAgentTool> tools)
{
    private readonly FrozenDictionary<string, IAgentTool> _tools =
        tools.ToFrozenDictionary(tool => tool.Name, StringComparer.Ordinal);

    public IAgentTool? Find(string name) => _tools.GetValueOrDefault(name);

    public IEnumerable<IAgentTool> All => _tools.Values.OrderBy(tool => tool.Name, StringComparer.Ordinal);
}

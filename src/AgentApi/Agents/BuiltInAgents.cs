using AgentApi.Agents.Tools;

namespace AgentApi.Agents;

/// <summary>The agents every instance has without any agent file. A file agent with the same name replaces one.</summary>
internal static class BuiltInAgents
{
    public const string Source = "built-in";

    public static readonly IReadOnlyList<AgentDefinition> All =
    [
        new(
            AgentCatalog.DefaultAgent,
            "A capable agent for multi-step work: research, code and writing, with every tool.",
            Tools: null,
            DisallowedTools: [],
            AgentCatalog.InheritModel,
            MaxTurns: null,
            "You are a capable general-purpose agent. Work step by step and give a complete, accurate answer.",
            Source),
        new(
            "explore",
            "A fast read-only agent that searches and reads files to answer questions about them.",
            ToolNames.ReadOnly,
            DisallowedTools: [],
            AgentCatalog.InheritModel,
            MaxTurns: null,
            "You are a read-only exploration agent. Find and read what is relevant and report what you found, with paths.",
            Source),
        new(
            "plan",
            "A read-only agent for research and planning: it investigates and proposes a plan, changing nothing.",
            ToolNames.ReadOnly,
            DisallowedTools: [],
            AgentCatalog.InheritModel,
            MaxTurns: null,
            "You are a planning agent. Investigate without changing anything and answer with a clear, ordered plan.",
            Source),
    ];
}

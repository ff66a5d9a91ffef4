using AgentApi.Agents.Tools;

namespace AgentApi.Agents;

/// <summary>An agent as listed by <c>GET /api/agents</c>.</summary>
/// <param name="Name">The name tasks use in their <c>agent</c> field.</param>
/// <param name="Description">What the agent is for.</param>
/// <param name="Tools">The tools the agent may call: its list, or every tool, less the disallowed ones, sorted.</param>
/// <param name="DisallowedTools">The tools the agent definition takes away, sorted.</param>
/// <param name="Model">A model name under <c>Models</c>, or <c>inherit</c>.</param>
/// <param name="MaxTurns">The maximum number of model round trips in one run, or null for the service default.</param>
/// <param name="Source"><c>built-in</c>, or the path of the agent file.</param>
public sealed record AgentSummaryResponse(
    string Name,
    string Description,
    IReadOnlyList<string> Tools,
    IReadOnlyList<string> DisallowedTools,
    string Model,
    int? MaxTurns,
    string Source)
{
    public static AgentSummaryResponse From(AgentDefinition agent) => new(
        agent.Name,
        agent.Description,
        AgentResponse.EffectiveTools(agent),
        [.. agent.DisallowedTools.Order(StringComparer.Ordinal)],
        agent.Model,
        agent.MaxTurns,
        agent.Source);
}

/// <summary>One agent with its system prompt, as returned by <c>GET /api/agents/{name}</c>. The other fields are those of <see cref="AgentSummaryResponse"/>.</summary>
public sealed record AgentResponse(
    string Name,
    string Description,
    IReadOnlyList<string> Tools,
    IReadOnlyList<string> DisallowedTools,
    string Model,
    int? MaxTurns,
    string Source,
    string SystemPrompt)
{
    public static AgentResponse From(AgentDefinition agent) => new(
        agent.Name,
        agent.Description,
        EffectiveTools(agent),
        [.. agent.DisallowedTools.Order(StringComparer.Ordinal)],
        agent.Model,
        agent.MaxTurns,
        agent.Source,
        agent.SystemPrompt);

    /// <summary>Returns the tools <paramref name="agent"/> may call, sorted.</summary>
    internal static IReadOnlyList<string> EffectiveTools(AgentDefinition agent) =>
        [.. ToolNames.All.Where(agent.Allows).Order(StringComparer.Ordinal)];
}

/// <summary>An agent file that was skipped, with the reason.</summary>
public sealed record BrokenAgentFileResponse(string File, string Reason);

/// <summary>The body of <c>GET /api/agents</c>: the usable agents sorted by name, and the skipped files.</summary>
public sealed record AgentListResponse(IReadOnlyList<AgentSummaryResponse> Items, IReadOnlyList<BrokenAgentFileResponse> Broken)
{
    public static AgentListResponse From(AgentCatalogSnapshot snapshot) => new(
        [.. snapshot.Agents.Select(AgentSummaryResponse.From)],
        [.. snapshot.Broken.Select(file => new BrokenAgentFileResponse(file.File, file.Reason))]);
}

namespace AgentApi.Agents;

/// <summary>An agent the service can run: its prompt, the tools it may use and the model it calls.</summary>
/// <param name="Name">The name tasks use in their <c>agent</c> field.</param>
/// <param name="Description">What the agent is for, shown to people and to supervisors.</param>
/// <param name="Tools">Tools the agent may call; null means every tool.</param>
/// <param name="DisallowedTools">Tools taken away from <paramref name="Tools"/> (or from every tool).</param>
/// <param name="Model">A named model from <c>Models</c>, or <c>inherit</c>.</param>
/// <param name="MaxTurns">Most model round trips in one run; null means the service default.</param>
/// <param name="SystemPrompt">The system message sent before the task input.</param>
/// <param name="Source"><c>built-in</c>, or the file the definition came from.</param>
public sealed record AgentDefinition(
    string Name,
    string Description,
    IReadOnlyList<string>? Tools,
    IReadOnlyList<string> DisallowedTools,
    string Model,
    int? MaxTurns,
    string SystemPrompt,
    string Source)
{
    /// <summary>The program the agent runs instead of calling a model; null for a model agent.</summary>
    public Processes.ProcessAgentSpec? Process { get; init; }

    /// <summary>Whether the agent may call <paramref name="tool"/>: listed (or no list), and not disallowed.</summary>
    public bool Allows(string tool) =>
        (Tools is null || Tools.Contains(tool, StringComparer.Ordinal))
        && !DisallowedTools.Contains(tool, StringComparer.Ordinal);
}

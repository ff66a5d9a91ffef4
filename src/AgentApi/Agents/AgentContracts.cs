using AgentApi.Agents.Tools;

namespace AgentApi.Agents;

/// <summary>An agent as listed by <c>GET /api/agents</c>.</summary>
/// <param name="Name">The name tasks use in their <c>agent</c> field.</param>
/// <param name="Description">What the agent is for.</param>
/// <param name="Tools">The tools the agent may call: its list, or every tool, less the disallowed ones, sorted. Empty for a process agent, which calls no tools.</param>
/// <param name="DisallowedTools">The tools the agent definition takes away, sorted.</param>
/// <param name="Model">A model name under <c>Models</c>, or <c>inherit</c>.</param>
/// <param name="MaxTurns">The maximum number of model round trips in one run, or null for the service default.</param>
/// <param name="Source"><c>built-in</c>, or the path of the agent file.</param>
/// <param name="Process">The program and limits of a process agent; null for a model agent.</param>
public sealed record AgentSummaryResponse(
    string Name,
    string Description,
    IReadOnlyList<string> Tools,
    IReadOnlyList<string> DisallowedTools,
    string Model,
    int? MaxTurns,
    string Source,
    ProcessAgentResponse? Process)
{
    public static AgentSummaryResponse From(AgentDefinition agent) => new(
        agent.Name,
        agent.Description,
        AgentResponse.EffectiveTools(agent),
        [.. agent.DisallowedTools.Order(StringComparer.Ordinal)],
        agent.Model,
        agent.MaxTurns,
        agent.Source,
        ProcessAgentResponse.From(agent.Process));
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
    string SystemPrompt,
    ProcessAgentResponse? Process)
{
    public static AgentResponse From(AgentDefinition agent) => new(
        agent.Name,
        agent.Description,
        EffectiveTools(agent),
        [.. agent.DisallowedTools.Order(StringComparer.Ordinal)],
        agent.Model,
        agent.MaxTurns,
        agent.Source,
        agent.SystemPrompt,
        ProcessAgentResponse.From(agent.Process));

    /// <summary>Returns the tools <paramref name="agent"/> may call, sorted, or none for a process agent.</summary>
    internal static IReadOnlyList<string> EffectiveTools(AgentDefinition agent) =>
        agent.Process is not null ? [] : [.. ToolNames.All.Where(agent.Allows).Order(StringComparer.Ordinal)];
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

/// <summary>A process agent's program as the agents API shows it. Environment values may be secrets, so only the names are shown.</summary>
/// <param name="Command">The program, as the agent file names it.</param>
/// <param name="Args">Its arguments; <c>{input}</c> stands for the task input.</param>
/// <param name="InputOn"><c>stdin</c>, or <c>args</c> when an argument contains <c>{input}</c>.</param>
/// <param name="WorkingDirectory">The folder it starts in; null means the task's workspace.</param>
/// <param name="Env">The names of the variables set or passed on, sorted.</param>
/// <param name="Limits">Its limits; a null field is not limited.</param>
public sealed record ProcessAgentResponse(
    string Command,
    IReadOnlyList<string> Args,
    string InputOn,
    string? WorkingDirectory,
    IReadOnlyList<string> Env,
    ProcessLimitsResponse Limits)
{
    public static ProcessAgentResponse? From(Processes.ProcessAgentSpec? spec) => spec is null ? null : new(
        spec.Command,
        spec.Arguments,
        spec.TakesInputAsArgument ? "args" : "stdin",
        spec.WorkingDirectory,
        [.. spec.Environment.Keys.Concat(spec.InheritedVariables).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
        new ProcessLimitsResponse(
            spec.Limits.Cpus,
            spec.Limits.CpuQuota,
            spec.Limits.MemoryLimitBytes is { } bytes ? Processes.ByteSize.Format(bytes) : null,
            spec.Limits.MemoryLimitBytes,
            spec.Limits.PidsLimit,
            spec.Limits.Timeout is { } timeout ? (long)timeout.TotalSeconds : null));
}

/// <summary>A process agent's limits, as its agent file sets them, before a lane's CPU list applies.</summary>
public sealed record ProcessLimitsResponse(
    string? Cpus,
    double? CpuQuota,
    string? MemoryLimit,
    long? MemoryLimitBytes,
    long? PidsLimit,
    long? TimeoutSeconds);

using System.Text.Json;
using AgentApi.Lanes;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>spawn_subagent</c>: runs a specialist agent on a subtask as a child task in the
/// <c>subagent</c> lane, in a fresh session, and returns its final reply. Subagents may not use it.
/// </summary>
public sealed class SpawnSubagentTool(AgentCatalog catalog) : IAgentTool
{
    public string Name => ToolNames.SpawnSubagent;

    public string Description =>
        "Start a subagent on a self-contained subtask and get its final answer. The subagent sees only the input you give it. "
        + "Several spawn_subagent calls in one reply run in parallel.";

    public JsonElement ParametersSchema { get; } = JsonDocument.Parse("""
        {
          "type": "object",
          "properties": {
            "agent": { "type": "string", "description": "The agent to run; defaults to general-purpose." },
            "input": { "type": "string", "description": "The subtask, complete in itself." }
          },
          "required": ["input"]
        }
        """).RootElement.Clone();

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        if (context.IsSubagentSession)
        {
            throw new ToolException("forbidden", "Subagents may not spawn subagents. Do the work yourself, or report what is missing.");
        }

        var (agent, input) = ChildArguments.Read(arguments, catalog, agentRequired: false);
        var subtasks = context.Subtasks ?? throw new ToolException("unavailable", "This run cannot start subagents.");
        var outcome = await subtasks.RunAsync(agent, input, LaneNames.Subagent, cancellationToken);
        return ChildArguments.Describe(outcome);
    }
}

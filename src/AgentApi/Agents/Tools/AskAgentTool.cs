using System.Text.Json;
using AgentApi.Lanes;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>ask_agent</c>: one agent calls another as a tool. The asked agent runs as
/// a child task in the <c>nested</c> lane, in a fresh session in which it can spawn nothing.
/// </summary>
public sealed class AskAgentTool(AgentCatalog catalog) : IAgentTool
{
    public string Name => ToolNames.AskAgent;

    public string Description => "Ask another agent a question or give it a small job, and get its answer.";

    public JsonElement ParametersSchema { get; } = JsonDocument.Parse("""
        {
          "type": "object",
          "properties": {
            "agent": { "type": "string", "description": "The agent to ask." },
            "input": { "type": "string", "description": "The question or job, complete in itself." }
          },
          "required": ["agent", "input"]
        }
        """).RootElement.Clone();

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var (agent, input) = ChildArguments.Read(arguments, catalog, agentRequired: true);
        var subtasks = context.Subtasks ?? throw new ToolException("unavailable", "This run cannot ask other agents.");
        var outcome = await subtasks.RunAsync(agent, input, LaneNames.Nested, cancellationToken);
        return ChildArguments.Describe(outcome);
    }
}

using System.Text.Json;

namespace AgentApi.Agents.Tools;

/// <summary>Reads the arguments of spawn_subagent and ask_agent, and formats a child's outcome for the model.</summary>
internal static class ChildArguments
{
    public static (string Agent, string Input) Read(JsonElement arguments, AgentCatalog catalog, bool agentRequired)
    {
        var input = arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty("input", out var inputValue)
            && inputValue.ValueKind == JsonValueKind.String ? inputValue.GetString() : null;
        if (string.IsNullOrWhiteSpace(input))
        {
            throw new ToolException("invalid_arguments", "'input' is required: a non-empty string with the subtask.");
        }

        var agent = arguments.TryGetProperty("agent", out var agentValue) && agentValue.ValueKind == JsonValueKind.String
            ? agentValue.GetString()
            : null;
        if (agent is null && agentRequired)
        {
            throw new ToolException("invalid_arguments", $"'agent' is required; use one of {string.Join(", ", catalog.Names)}.");
        }

        agent ??= AgentCatalog.DefaultAgent;
        if (catalog.Find(agent) is null)
        {
            throw new ToolException("unknown_agent", $"Agent '{agent}' does not exist; use one of {string.Join(", ", catalog.Names)}.");
        }

        return (agent, input);
    }

    public static string Describe(SubtaskOutcome outcome) => outcome.Succeeded
        ? outcome.Text ?? string.Empty
        : throw new ToolException(
            "subagent_failed",
            $"Agent '{outcome.Agent}' (task {outcome.TaskId}) ended {outcome.Status}: {outcome.ErrorType}: {outcome.ErrorMessage}");
}

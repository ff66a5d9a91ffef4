using AgentApi.Agents.Models;
using AgentApi.Tasks;
using Microsoft.Extensions.AI;

namespace AgentApi.Agents;

/// <summary>Runs one attempt of a task's agent: the agent's system prompt and the task input, sent to its model.</summary>
public sealed class AgentRunner(AgentCatalog catalog, ModelRegistry models)
{
    public async Task<AgentRunResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var agent = catalog.Find(task.Agent)
            ?? throw new InvalidOperationException($"Agent '{task.Agent}' is not defined.");
        var client = models.Get(agent.Model);

        List<ChatMessage> messages =
        [
            new(ChatRole.System, agent.SystemPrompt),
            new(ChatRole.User, task.Input),
        ];

        var response = await client.GetResponseAsync(messages, new ChatOptions(), cancellationToken);
        return new AgentRunResult(
            response.Text,
            response.ModelId,
            response.Usage?.InputTokenCount,
            response.Usage?.OutputTokenCount);
    }
}

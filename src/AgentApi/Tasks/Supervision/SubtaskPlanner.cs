using System.Text;
using System.Text.Json;
using AgentApi.Agents;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks.Supervision;

/// <summary>
/// Asks the task's agent's model for a plan: JSON with the subtasks, checked against the plan
/// schema and the agents that exist. An invalid plan is asked for once more with the reason;
/// a second invalid one fails the task with <c>invalid_plan</c>. The plan is stored with the
/// task, so a later attempt runs the same subtasks.
/// </summary>
public sealed class SubtaskPlanner(AgentRunner agents, AgentCatalog catalog, IOptions<TaskOptions> options, ILogger<SubtaskPlanner> logger)
{
    /// <summary>The longest subtask name, as for a submitted subtask.</summary>
    private const int MaxNameLength = 256;

    /// <summary>The JSON schema a plan must match.</summary>
    public static readonly JsonElement PlanSchema = JsonDocument.Parse("""
        {
          "type": "object",
          "properties": {
            "subtasks": {
              "type": "array",
              "minItems": 1,
              "items": {
                "type": "object",
                "properties": {
                  "agent": { "type": "string" },
                  "input": { "type": "string", "minLength": 1 },
                  "name": { "type": "string" }
                },
                "required": ["input"],
                "additionalProperties": false
              }
            }
          },
          "required": ["subtasks"],
          "additionalProperties": false
        }
        """).RootElement.Clone();

    internal async Task<List<SubtaskRequest>> PlanAsync(TaskWorkItem item, AgentTask task, AgentRunContext context, CancellationToken cancellationToken)
    {
        var chatOptions = new ChatOptions
        {
            ResponseFormat = ChatResponseFormat.ForJsonSchema(PlanSchema, "plan", "The subtasks to run in parallel."),
        };
        List<ChatMessage> messages =
        [
            new(ChatRole.System, Instructions()),
            new(ChatRole.User, task.Input),
        ];

        for (var request = 1; ; request++)
        {
            var reply = await agents.CompleteAsync(task, "plan", messages, chatOptions, context, cancellationToken);
            var (plan, problem) = Parse(reply.Text);
            if (plan is not null)
            {
                await StoreAsync(item, task, plan);
                SupervisorLog.Planned(logger, task.Id, plan.Count);
                return plan;
            }

            if (request == 2)
            {
                throw new AgentRunException("invalid_plan", $"The model's plan was invalid twice; the second time: {problem}");
            }

            SupervisorLog.InvalidPlan(logger, task.Id, problem!);
            messages.Add(new ChatMessage(ChatRole.Assistant, reply.Text));
            messages.Add(new ChatMessage(ChatRole.User,
                $"That plan is invalid: {problem} Reply with only a JSON object that matches the plan schema."));
        }
    }

    /// <summary>Parses a plan, or returns the reason it is invalid.</summary>
    public (List<SubtaskRequest>? Plan, string? Problem) Parse(string text)
    {
        var json = StripCodeFence(text);
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(json).RootElement;
        }
        catch (JsonException exception)
        {
            return (null, $"it is not JSON ({exception.Message})");
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("subtasks", out var subtasks) || subtasks.ValueKind != JsonValueKind.Array)
        {
            return (null, "it must be an object with a 'subtasks' array.");
        }

        var maxChildren = options.Value.MaxChildren;
        if (subtasks.GetArrayLength() is var count && (count < 1 || count > maxChildren))
        {
            return (null, $"it must have 1 to {maxChildren} subtasks; it has {count}.");
        }

        var plan = new List<SubtaskRequest>();
        var index = 0;
        foreach (var entry in subtasks.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object)
            {
                return (null, $"subtasks[{index}] must be an object.");
            }

            foreach (var property in entry.EnumerateObject())
            {
                if (property.Name is not ("agent" or "input" or "name") || property.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, $"subtasks[{index}].{property.Name} is not allowed; only the strings 'agent', 'input' and 'name' are.");
                }
            }

            var input = entry.TryGetProperty("input", out var inputValue) ? inputValue.GetString() : null;
            if (string.IsNullOrWhiteSpace(input) || input.Length > options.Value.MaxInputLength)
            {
                return (null, $"subtasks[{index}].input must be a non-empty string of at most {options.Value.MaxInputLength} characters.");
            }

            if (input.Contains('\0', StringComparison.Ordinal))
            {
                return (null, $"subtasks[{index}].input must not contain NUL characters.");
            }

            var name = entry.TryGetProperty("name", out var nameValue) ? nameValue.GetString() : null;
            if (name is not null && (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength || name.Any(char.IsControl)))
            {
                return (null, $"subtasks[{index}].name must be 1 to {MaxNameLength} characters without control characters.");
            }

            var agent = entry.TryGetProperty("agent", out var agentValue) ? agentValue.GetString() : null;
            if (agent is not null && catalog.Find(agent) is null)
            {
                return (null, $"subtasks[{index}].agent '{agent}' does not exist; use one of {string.Join(", ", catalog.Names)}.");
            }

            plan.Add(new SubtaskRequest
            {
                Agent = agent,
                Input = input,
                Name = name,
            });
            index++;
        }

        return (plan, null);
    }

    /// <summary>
    /// Stores the plan with the task, and sets it on <paramref name="parent"/> too, so that a retry
    /// in this attempt runs the same plan instead of asking the model for a new one.
    /// </summary>
    private static Task StoreAsync(TaskWorkItem item, AgentTask parent, List<SubtaskRequest> plan)
    {
        var json = JsonSerializer.Serialize(plan, JsonSerializerOptions.Web);
        parent.SubtasksJson = json;
        return item.Observer?.WriteAsync((task, events) =>
        {
            task.SubtasksJson = json;
            events.Add(TaskEventTypes.PlanCreated, new { subtasks = plan.Select(subtask => new { agent = subtask.Agent, input = subtask.Input, name = subtask.Name }) });
        }) ?? Task.CompletedTask;
    }

    private string Instructions()
    {
        var text = new StringBuilder();
        text.Append("Split the user's task into independent subtasks that specialist agents can work on in parallel. ");
        text.Append("Reply with only a JSON object of the form {\"subtasks\": [{\"agent\": \"…\", \"input\": \"…\", \"name\": \"…\"}]}, ");
        text.Append("with 1 to ").Append(options.Value.MaxChildren).Append(" subtasks. Each input must stand on its own: the agent sees nothing else. ");
        text.Append("Agents:\n");
        foreach (var agent in catalog.All)
        {
            text.Append("- ").Append(agent.Name).Append(": ").Append(agent.Description).Append('\n');
        }

        return text.ToString();
    }

    private static string StripCodeFence(string text)
    {
        var trimmed = text.Trim();
        if (!trimmed.StartsWith("```", StringComparison.Ordinal))
        {
            return trimmed;
        }

        var firstLineEnd = trimmed.IndexOf('\n');
        var lastFence = trimmed.LastIndexOf("```", StringComparison.Ordinal);
        return firstLineEnd > 0 && lastFence > firstLineEnd ? trimmed[(firstLineEnd + 1)..lastFence].Trim() : trimmed;
    }
}

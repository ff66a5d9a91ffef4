using System.Text.Json;
using AgentApi.Agents.Tools;
using AgentApi.Agents;
using AgentApi.Errors;
using AgentApi.Lanes;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks;

/// <summary>
/// Checks a submission field by field. Every problem is reported under the field's JSON name with
/// what is allowed, and nothing is stored when there is any.
/// </summary>
public sealed class TaskSubmissionValidator(
    AgentCatalog agents,
    LaneCatalog lanes,
    IOptions<TaskOptions> options,
    IOptions<Webhooks.WebhookOptions> webhookOptions)
{
    private const int MaxNameLength = 256;
    private const int MaxSessionKeyLength = 256;
    private const int MaxUrlLength = 2048;

    public Dictionary<string, string[]> Validate(SubmitTaskRequest request)
    {
        var limits = options.Value;
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);

        ValidateInput(errors, "input", request.Input, limits.MaxInputLength);
        ValidateAgent(errors, "agent", request.Agent);
        ValidateText(errors, "name", request.Name, MaxNameLength);
        ValidateText(errors, "sessionKey", request.SessionKey, MaxSessionKeyLength);
        ValidateChoice<TaskPriority>(errors, "priority", request.Priority);
        ValidateChoice<TaskCoordination>(errors, "coordination", request.Coordination);

        if (request.Lane is not null && !lanes.Contains(request.Lane))
        {
            Add(errors, "lane", $"Unknown lane '{MessageText.Quote(request.Lane)}'. Declared lanes: {string.Join(", ", lanes.Names)}.");
        }

        if (request.TimeoutSeconds is { } timeout && (timeout < 1 || timeout > limits.MaxTimeoutSeconds))
        {
            Add(errors, "timeoutSeconds", $"Must be between 1 and {limits.MaxTimeoutSeconds} seconds; got {timeout}.");
        }

        if (request.MaxAttempts is { } attempts && (attempts < 1 || attempts > limits.MaxAttemptsLimit))
        {
            Add(errors, "maxAttempts", $"Must be between 1 and {limits.MaxAttemptsLimit}; got {attempts}.");
        }

        if (request.Workspace is { } workspace && !WorkspaceProvider.IsValidName(workspace))
        {
            Add(errors, "workspace", $"'{MessageText.Quote(workspace)}' is not allowed; use 1 to 64 letters, digits, '.', '_' or '-', not '.' or '..'.");
        }

        if (request.TokenBudget is { } budget && budget < 1)
        {
            Add(errors, "tokenBudget", $"Must be a positive number of tokens; got {budget}.");
        }

        if (request.Decompose == true && request.Subtasks is { Count: > 0 })
        {
            Add(errors, "decompose", "Give either 'subtasks' or 'decompose: true', not both.");
        }

        ValidateSubtasks(errors, request.Subtasks, limits);
        ValidateMetadata(errors, request.Metadata, limits.MaxMetadataBytes);
        ValidateWebhookUrl(errors, request.WebhookUrl);

        return errors.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Returns the reason a submission may not run at all, or null: a subagent session may not
    /// fan out, because subagents may not spawn subagents.
    /// </summary>
    public static string? Forbidden(SubmitTaskRequest request) =>
        SessionKeys.IsSubagent(request.SessionKey) && (request.Subtasks is { Count: > 0 } || request.Decompose == true)
            ? $"Session '{MessageText.Quote(request.SessionKey!)}' is a subagent session, and subagents may not spawn subagents: send the task without 'subtasks' and 'decompose'."
            : null;

    private void ValidateSubtasks(Dictionary<string, List<string>> errors, List<SubtaskRequest>? subtasks, TaskOptions limits)
    {
        if (subtasks is null)
        {
            return;
        }

        if (subtasks.Count == 0)
        {
            Add(errors, "subtasks", "Give at least one subtask, or leave 'subtasks' out.");
            return;
        }

        if (subtasks.Count > limits.MaxChildren)
        {
            Add(errors, "subtasks", $"At most {limits.MaxChildren} subtasks are allowed (setting Tasks:MaxChildren); got {subtasks.Count}.");
            return;
        }

        for (var index = 0; index < subtasks.Count; index++)
        {
            var subtask = subtasks[index];
            var prefix = $"subtasks[{index}]";
            if (subtask is null)
            {
                Add(errors, prefix, "A subtask must be an object with 'input'.");
                continue;
            }

            ValidateInput(errors, $"{prefix}.input", subtask.Input, limits.MaxInputLength);
            ValidateAgent(errors, $"{prefix}.agent", subtask.Agent);
            ValidateText(errors, $"{prefix}.name", subtask.Name, MaxNameLength);
            if (subtask.TimeoutSeconds is { } timeout && (timeout < 1 || timeout > limits.MaxTimeoutSeconds))
            {
                Add(errors, $"{prefix}.timeoutSeconds", $"Must be between 1 and {limits.MaxTimeoutSeconds} seconds; got {timeout}.");
            }
        }
    }

    private void ValidateAgent(Dictionary<string, List<string>> errors, string field, string? agent)
    {
        if (agent is not null && agents.Find(agent) is null)
        {
            Add(errors, field, $"Unknown agent '{MessageText.Quote(agent)}'. Known agents: {string.Join(", ", agents.Names)}.");
        }
    }

    private static void ValidateInput(Dictionary<string, List<string>> errors, string field, string? input, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(input))
        {
            Add(errors, field, "Required: a non-empty string saying what the agent should do.");
            return;
        }

        if (input.Length > maxLength)
        {
            Add(errors, field, $"At most {maxLength} characters are allowed; got {input.Length}.");
        }

        if (input.Contains('\0', StringComparison.Ordinal))
        {
            Add(errors, field, "NUL characters (\\u0000) are not allowed.");
        }
    }

    private static void ValidateText(Dictionary<string, List<string>> errors, string field, string? value, int maxLength)
    {
        if (value is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            Add(errors, field, "Must not be empty; leave the field out instead.");
        }
        else if (value.Length > maxLength)
        {
            Add(errors, field, $"At most {maxLength} characters are allowed; got {value.Length}.");
        }
        else if (value.Any(char.IsControl))
        {
            Add(errors, field, "Control characters are not allowed.");
        }
    }

    private static void ValidateChoice<TEnum>(Dictionary<string, List<string>> errors, string field, string? value)
        where TEnum : struct, Enum
    {
        if (value is not null && !WireNames<TEnum>.TryParse(value, out _))
        {
            Add(errors, field, $"'{MessageText.Quote(value)}' is not allowed; use one of {string.Join(", ", WireNames<TEnum>.All)}.");
        }
    }

    private static void ValidateMetadata(Dictionary<string, List<string>> errors, Dictionary<string, JsonElement>? metadata, int maxBytes)
    {
        if (metadata is null)
        {
            return;
        }

        var size = JsonSerializer.SerializeToUtf8Bytes(metadata).Length;
        if (size > maxBytes)
        {
            Add(errors, "metadata", $"At most {maxBytes} bytes of JSON are allowed; got {size}.");
        }

        if (metadata.Keys.Any(key => key.Contains('\0', StringComparison.Ordinal))
            || JsonSerializer.Serialize(metadata).Contains("\\u0000", StringComparison.Ordinal))
        {
            Add(errors, "metadata", "NUL characters (\\u0000) are not allowed.");
        }
    }

    private void ValidateWebhookUrl(Dictionary<string, List<string>> errors, string? url)
    {
        if (url is null)
        {
            return;
        }

        if (url.Length > MaxUrlLength
            || url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.UserInfo))
        {
            Add(errors, "webhookUrl", $"Must be an absolute http or https URL without credentials, spaces or control characters, at most {MaxUrlLength} characters.");
            return;
        }

        var webhooks = webhookOptions.Value;
        if (string.IsNullOrEmpty(webhooks.Secret))
        {
            Add(errors, "webhookUrl", "Webhooks are off on this service because Webhooks:Secret is not set, so deliveries could not be signed; leave webhookUrl out or ask the operator to set it.");
        }
        else if (Webhooks.WebhookConnections.IsInternalHost(uri.IdnHost)
            && !Webhooks.WebhookConnections.IsAllowedHost(uri.IdnHost.TrimEnd('.'), uri.Port, webhooks.AllowedHosts))
        {
            // A host name is checked when it is resolved, at delivery; an address or a name that
            // always means this machine can be checked now, without asking a resolver.
            Add(errors, "webhookUrl", $"{uri.IdnHost} is a loopback, private or link-local address; add it to Webhooks:AllowedHosts to allow it.");
        }
    }

    private static void Add(Dictionary<string, List<string>> errors, string field, string message)
    {
        if (!errors.TryGetValue(field, out var messages))
        {
            messages = [];
            errors[field] = messages;
        }

        messages.Add(message);
    }
}

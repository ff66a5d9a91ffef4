using System.Text.Json;

namespace AgentApi.Tasks;

/// <summary>The body of <c>POST /api/tasks</c>. Only <c>input</c> is required.</summary>
public sealed class SubmitTaskRequest
{
    /// <summary>Agent to run. Defaults to <c>general-purpose</c>.</summary>
    public string? Agent { get; set; }

    /// <summary>What the agent is asked to do.</summary>
    [System.ComponentModel.DataAnnotations.Required]
    public string? Input { get; set; }

    /// <summary>A dotted name such as <c>research.summarize</c>; routing rules match it when <c>priority</c> is absent.</summary>
    public string? Name { get; set; }

    /// <summary><c>high</c>, <c>default</c> or <c>low</c>.</summary>
    public string? Priority { get; set; }

    /// <summary>The lane the task runs in. Defaults to <c>main</c>.</summary>
    public string? Lane { get; set; }

    /// <summary>
    /// Work with the same session key runs one at a time, in submission order, and continues one
    /// transcript. Without one, a task in the <c>main</c> lane continues the agent's main session
    /// <c>agent:&lt;agent&gt;:main</c> but is not held to session order.
    /// </summary>
    public string? SessionKey { get; set; }

    /// <summary>Name of the workspace folder the agent's file tools work in. Defaults to the task's id.</summary>
    public string? Workspace { get; set; }

    /// <summary>Most tokens, input and output together, the task and all its children may use.</summary>
    public long? TokenBudget { get; set; }

    public List<SubtaskRequest>? Subtasks { get; set; }

    /// <summary>Let the supervisor split the task into subtasks itself.</summary>
    public bool? Decompose { get; set; }

    /// <summary><c>all</c> (the default), <c>first</c>, <c>as_completed</c> or <c>fail_fast</c>.</summary>
    public string? Coordination { get; set; }

    /// <summary>Deadline covering waiting and running, in seconds. Defaults to 600.</summary>
    public int? TimeoutSeconds { get; set; }

    /// <summary>Attempts for transient model failures. Defaults to 3.</summary>
    public int? MaxAttempts { get; set; }

    public Dictionary<string, JsonElement>? Metadata { get; set; }

    /// <summary>An http or https URL to notify when the task finishes.</summary>
    public string? WebhookUrl { get; set; }
}

/// <summary>One subtask of a submission.</summary>
public sealed class SubtaskRequest
{
    public string? Agent { get; set; }

    public string? Input { get; set; }

    public string? Name { get; set; }

    /// <summary>The child's own deadline in seconds; defaults to the parent's. A child that times out never cancels its parent.</summary>
    public int? TimeoutSeconds { get; set; }
}

public sealed record TaskProgressResponse(int Percent, string? Message);

public sealed record TaskUsageResponse(long? InputTokens, long? OutputTokens);

/// <summary>A task's result; <c>partial</c> is true when some children failed and only the others' results were combined.</summary>
/// <summary>A task's result; <paramref name="Suppressed"/> is true for a heartbeat whose reply was "nothing needs attention".</summary>
public sealed record TaskResultResponse(string Text, string? Model, TaskUsageResponse Usage, bool Partial, bool Suppressed);

/// <summary>Tokens of the task itself and of its whole tree (the task and every descendant).</summary>
public sealed record TaskTreeUsageResponse(long InputTokens, long OutputTokens, long? Budget);

public sealed record TaskErrorResponse(string Type, string Message);

public sealed record TaskChildResponse(Guid Id, string Status, string Agent, string? Name);

/// <summary>A task as returned by the API.</summary>
public sealed record TaskResponse(
    Guid Id,
    string Status,
    string Agent,
    string? Name,
    string Priority,
    string Queue,
    string Lane,
    string? SessionKey,
    Guid? ParentId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Attempts,
    int MaxAttempts,
    int TimeoutSeconds,
    TaskProgressResponse Progress,
    TaskResultResponse? Result,
    TaskErrorResponse? Error,
    JsonElement? Metadata,
    string? Workspace,
    TaskTreeUsageResponse? TreeUsage,
    IReadOnlyList<TaskChildResponse> Children,
    string? Origin)
{
    public static TaskResponse From(AgentTask task, IReadOnlyList<TaskChildResponse> children, TaskTreeUsageResponse? treeUsage = null) => new(
        task.Id,
        WireNames<AgentTaskStatus>.ToName(task.Status),
        task.Agent,
        task.Name,
        WireNames<TaskPriority>.ToName(task.Priority),
        task.Queue,
        task.Lane,
        task.TranscriptKey,
        task.ParentId,
        task.CreatedAt,
        task.StartedAt,
        task.FinishedAt,
        task.Attempts,
        task.MaxAttempts,
        task.TimeoutSeconds,
        new TaskProgressResponse(task.ProgressPercent, task.ProgressMessage),
        task.ResultText is null
            ? null
            : new TaskResultResponse(task.ResultText, task.ResultModel, new TaskUsageResponse(task.InputTokens, task.OutputTokens), task.ResultPartial, task.Suppressed),
        task.ErrorType is null ? null : new TaskErrorResponse(task.ErrorType, task.ErrorMessage ?? string.Empty),
        task.MetadataJson is null ? null : JsonDocument.Parse(task.MetadataJson).RootElement.Clone(),
        task.Workspace,
        treeUsage,
        children,
        task.Origin);
}

/// <summary>One page of <c>GET /api/tasks</c>; pass <c>nextCursor</c> as <c>cursor</c> for the next page.</summary>
public sealed record TaskPageResponse(IReadOnlyList<TaskResponse> Items, string? NextCursor);

/// <summary>A stored task event.</summary>
public sealed record TaskEventResponse(Guid TaskId, long Sequence, string Type, DateTimeOffset Timestamp, JsonElement? Data)
{
    public static TaskEventResponse From(TaskEvent taskEvent) => new(
        taskEvent.TaskId,
        taskEvent.Sequence,
        taskEvent.Type,
        taskEvent.Timestamp,
        taskEvent.DataJson is null ? null : JsonDocument.Parse(taskEvent.DataJson).RootElement.Clone());
}

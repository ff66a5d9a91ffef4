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

    /// <summary>Work with the same session key runs one at a time, in submission order.</summary>
    public string? SessionKey { get; set; }

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
}

public sealed record TaskProgressResponse(int Percent, string? Message);

public sealed record TaskUsageResponse(long? InputTokens, long? OutputTokens);

public sealed record TaskResultResponse(string Text, string? Model, TaskUsageResponse Usage);

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
    IReadOnlyList<TaskChildResponse> Children)
{
    public static TaskResponse From(AgentTask task, IReadOnlyList<TaskChildResponse> children) => new(
        task.Id,
        WireNames<AgentTaskStatus>.ToName(task.Status),
        task.Agent,
        task.Name,
        WireNames<TaskPriority>.ToName(task.Priority),
        task.Queue,
        task.Lane,
        task.SessionKey,
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
            : new TaskResultResponse(task.ResultText, task.ResultModel, new TaskUsageResponse(task.InputTokens, task.OutputTokens)),
        task.ErrorType is null ? null : new TaskErrorResponse(task.ErrorType, task.ErrorMessage ?? string.Empty),
        task.MetadataJson is null ? null : JsonDocument.Parse(task.MetadataJson).RootElement.Clone(),
        children);
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

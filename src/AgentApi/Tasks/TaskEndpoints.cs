using AgentApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AgentApi.Tasks;

public static class TaskEndpoints
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 200;
    private const int MaxEventPage = 1000;
    private const int MaxIdempotencyKeyLength = 256;

    public static IEndpointRouteBuilder MapTasks(this IEndpointRouteBuilder endpoints)
    {
        // Each route names its own scope: policies set on the group as well would all have to
        // hold, so a submit-only key could not submit.
        var group = endpoints.MapGroup("/api/tasks").WithTags("Tasks");

        group.MapPost("/", SubmitAsync)
            .RequireAuthorization(AuthorizationPolicies.Submit)
            .WithSummary("Submit a task; it is queued and its id returned at once.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        group.MapGet("/", ListAsync)
            .RequireAuthorization(AuthorizationPolicies.Read)
            .WithSummary("List tasks, newest first, one page at a time.")
            .ProducesValidationProblem();
        group.MapGet("/{id}", GetAsync).RequireAuthorization(AuthorizationPolicies.Read).WithSummary("Get one task with its children.");
        group.MapPost("/{id}/cancel", CancelAsync)
            .RequireAuthorization(AuthorizationPolicies.Submit)
            .WithSummary("Cancel a queued or running task.");
        group.MapGet("/{id}/events", GetEventsAsync)
            .RequireAuthorization(AuthorizationPolicies.Read)
            .WithSummary("List the task's events with a sequence above 'after'; with Accept: text/event-stream, stream them live until the task's final event.")
            .ProducesValidationProblem();

        return endpoints;
    }

    private static async Task<Results<Accepted<TaskResponse>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        SubmitTaskRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        TaskSubmissionValidator validator,
        TaskService tasks,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        if (TaskSubmissionValidator.Forbidden(request) is { } forbidden)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Subagents may not spawn subagents", detail: forbidden);
        }

        var errors = validator.Validate(request);
        if (idempotencyKey is not null
            && (idempotencyKey.Length is 0 or > MaxIdempotencyKeyLength || idempotencyKey.Any(c => c < 0x21 || c > 0x7e)))
        {
            errors["Idempotency-Key"] = [$"Must be 1 to {MaxIdempotencyKeyLength} visible ASCII characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The task submission is invalid");
        }

        var submission = await tasks.SubmitAsync(request, idempotencyKey, cancellationToken);
        if (submission.Outcome == SubmissionOutcome.KeyConflict)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "Idempotency key reused with a different body",
                detail: $"Idempotency-Key '{idempotencyKey}' was first used for task {submission.Task.Id} with a different body; use a new key for a new task.");
        }

        if (submission.Outcome == SubmissionOutcome.Replayed)
        {
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
        }

        return TypedResults.Accepted($"/api/tasks/{submission.Task.Id}", TaskResponse.From(submission.Task, []));
    }

    private static async Task<Results<Ok<TaskPageResponse>, ValidationProblem>> ListAsync(
        string? status,
        string? agent,
        string? parentId,
        string? limit,
        string? cursor,
        TaskService tasks,
        CancellationToken cancellationToken)
    {
        Dictionary<string, string[]> errors = [];

        AgentTaskStatus? statusFilter = null;
        if (status is not null)
        {
            if (WireNames<AgentTaskStatus>.TryParse(status, out var parsed))
            {
                statusFilter = parsed;
            }
            else
            {
                errors["status"] = [$"Use one of {string.Join(", ", WireNames<AgentTaskStatus>.All)}."];
            }
        }

        if (agent is not null && (agent.Length is 0 or > 128 || agent.Any(char.IsControl)))
        {
            errors["agent"] = ["Must be an agent name: 1 to 128 characters without control characters."];
        }

        var parentFilter = ParseOptionalGuid(parentId, "parentId", errors);
        var cursorId = ParseOptionalGuid(cursor, "cursor", errors);

        var pageSize = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize < 1 || pageSize > MaxPageSize))
        {
            errors["limit"] = [$"Must be a whole number from 1 to {MaxPageSize}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The task query is invalid");
        }

        var page = await tasks.ListAsync(new TaskListQuery(statusFilter, agent, parentFilter, pageSize, cursorId), cancellationToken);
        return TypedResults.Ok(page);
    }

    private static async Task<Results<Ok<TaskResponse>, ProblemHttpResult>> GetAsync(
        string id,
        TaskStore store,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || await store.FindAsync(taskId, cancellationToken) is not { } task)
        {
            return TaskNotFound(id);
        }

        return TypedResults.Ok(await store.ToResponseAsync(task, cancellationToken));
    }

    private static async Task<Results<Accepted<TaskResponse>, ProblemHttpResult>> CancelAsync(
        string id,
        TaskService tasks,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || await tasks.CancelAsync(taskId, cancellationToken) is not { } result)
        {
            return TaskNotFound(id);
        }

        if (result.Outcome == CancelOutcome.AlreadyFinished)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Task already finished",
                detail: $"Task {taskId} finished as '{WireNames<AgentTaskStatus>.ToName(result.Task.Status)}' and can no longer be cancelled.");
        }

        return TypedResults.Accepted($"/api/tasks/{taskId}", TaskResponse.From(result.Task, []));
    }

    private static async Task<Results<Ok<IReadOnlyList<TaskEventResponse>>, ServerSentEventsResult<TaskEventResponse>, ProblemHttpResult, ValidationProblem>> GetEventsAsync(
        string id,
        string? after,
        string? limit,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventId,
        HttpContext httpContext,
        TaskStore store,
        Events.TaskEventFeed feed,
        KeyConnections keyConnections,
        CancellationToken cancellationToken)
    {
        Dictionary<string, string[]> errors = [];
        long afterSequence = 0;
        if (after is not null && (!long.TryParse(after, out afterSequence) || afterSequence < 0))
        {
            errors["after"] = ["Must be a whole number, 0 or more: the last sequence already seen."];
        }

        var stream = httpContext.Request.GetTypedHeaders().Accept.Any(accept => accept.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));

        // A reconnecting EventSource sends the id of the last event it received; it wins over 'after'.
        if (stream && lastEventId is not null && (!long.TryParse(lastEventId, out afterSequence) || afterSequence < 0))
        {
            errors["Last-Event-ID"] = ["Must be a whole number, 0 or more: the sequence of the last event received."];
        }

        var pageSize = MaxEventPage;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize < 1 || pageSize > MaxEventPage))
        {
            errors["limit"] = [$"Must be a whole number from 1 to {MaxEventPage}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The event query is invalid");
        }

        if (!Guid.TryParse(id, out var taskId) || await store.FindAsync(taskId, cancellationToken) is null)
        {
            return TaskNotFound(id);
        }

        if (stream)
        {
            return TypedResults.ServerSentEvents(StreamEventsAsync(feed, keyConnections, httpContext, taskId, afterSequence, cancellationToken));
        }

        var events = await store.GetEventsAsync(taskId, afterSequence, pageSize, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<TaskEventResponse>>(events.Select(TaskEventResponse.From).ToList());
    }

    /// <summary>The task's events as server-sent events: the sequence is the event id and the type the event name.</summary>
    private static async IAsyncEnumerable<System.Net.ServerSentEvents.SseItem<TaskEventResponse>> StreamEventsAsync(
        Events.TaskEventFeed feed,
        KeyConnections keyConnections,
        HttpContext httpContext,
        Guid taskId,
        long afterSequence,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Revoking the key ends the stream, as it refuses the key's next request.
        using var revocation = keyConnections.Register(httpContext.User.Identity?.Name, httpContext.Abort);
        await foreach (var taskEvent in feed.StreamAsync(taskId, afterSequence, cancellationToken))
        {
            yield return new System.Net.ServerSentEvents.SseItem<TaskEventResponse>(TaskEventResponse.From(taskEvent), taskEvent.Type)
            {
                EventId = taskEvent.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }
    }

    private static Guid? ParseOptionalGuid(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (Guid.TryParse(value, out var parsed))
        {
            return parsed;
        }

        errors[field] = ["Must be a task id (a GUID)."];
        return null;
    }

    private static ProblemHttpResult TaskNotFound(string id) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Task not found",
            detail: $"No task has id '{(id.Length > 64 ? id[..64] + "…" : id)}'.");
}

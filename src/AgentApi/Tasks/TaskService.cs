using System.Security.Cryptography;
using System.Text.Json;
using AgentApi.Agents;
using AgentApi.Lanes;
using AgentApi.Queues;
using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks;

/// <summary>Submits, lists and cancels tasks.</summary>
public sealed class TaskService(
    IDbContextFactory<AgentDbContext> dbFactory,
    TaskStore store,
    TaskEnqueuer enqueuer,
    TaskDispatch dispatch,
    PriorityRouter router,
    RunningTaskRegistry runningTasks,
    TaskIdGenerator idGenerator,
    IOptions<TaskOptions> options,
    Heartbeat.HeartbeatSession heartbeat,
    TimeProvider timeProvider,
    ILogger<TaskService> logger)
{
    private static readonly JsonSerializerOptions HashSerializerOptions = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Stores a validated submission as a queued task and enqueues its job. With an idempotency
    /// key that was seen before, returns the first task instead (or a conflict when the body differs).
    /// </summary>
    public Task<SubmissionResult> SubmitAsync(SubmitTaskRequest request, string? idempotencyKey, CancellationToken cancellationToken) =>
        SubmitAsync(request, idempotencyKey, origin: null, cancellationToken);

    /// <summary>Submits a task that the service itself creates, such as a heartbeat's, recording what created it in <paramref name="origin"/>.</summary>
    public async Task<SubmissionResult> SubmitAsync(SubmitTaskRequest request, string? idempotencyKey, string? origin, CancellationToken cancellationToken)
    {
        var requestHash = idempotencyKey is null ? null : HashRequest(request);
        if (idempotencyKey is not null && await FindByIdempotencyKeyAsync(idempotencyKey, cancellationToken) is { } existing)
        {
            return Replay(existing, requestHash!);
        }

        var task = CreateTask(request, idempotencyKey, requestHash);
        task.Origin = origin;

        // A session's tasks enter their lane in order, which only the Hangfire path checks.
        var startHere = options.Value.StartInProcess && task.SessionKey is null;
        if (startHere)
        {
            dispatch.LeaseForInsert(task);
        }

        var buffer = new TaskEventBuffer();
        buffer.Add(TaskEventTypes.Queued, new { queue = task.Queue, lane = task.Lane, priority = WireNames<TaskPriority>.ToName(task.Priority) });

        try
        {
            await store.InsertAsync(task, buffer, cancellationToken);
        }
        catch (DbUpdateException) when (idempotencyKey is not null)
        {
            // A concurrent request with the same key may have inserted first.
            var raced = await FindByIdempotencyKeyAsync(idempotencyKey, cancellationToken);
            if (raced is null)
            {
                throw;
            }

            return Replay(raced, requestHash!);
        }

        TasksLog.Queued(logger, task.Id, task.Queue, task.Lane, task.Agent);

        // When the service is stopping, neither path takes the task. It is stored, so the recovery
        // sweep of the next start or of another instance gives it a job.
        if (startHere)
        {
            if (!dispatch.TryStartStored(task))
            {
                TasksLog.StoredWhileStopping(logger, task.Id);
            }
        }
        else
        {
            enqueuer.Post(task);
        }

        if (origin is null && task.TranscriptKey is { } sessionKey && sessionKey == heartbeat.SessionKey && heartbeat.BeatsMayBeUnfinished)
        {
            await YieldHeartbeatsAsync(task, sessionKey, cancellationToken);
        }

        return new SubmissionResult(SubmissionOutcome.Created, task);
    }

    /// <summary>
    /// Cancels the unfinished heartbeat runs of a session that user work just arrived for, so that
    /// the user never waits behind a beat; the next beat comes at its usual time.
    /// </summary>
    private async Task YieldHeartbeatsAsync(AgentTask userTask, string sessionKey, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var beats = await db.Tasks.AsNoTracking()
            .Where(task => task.SessionKey == sessionKey
                && task.Origin == Heartbeat.HeartbeatService.Origin
                && (task.Status == AgentTaskStatus.Queued || task.Status == AgentTaskStatus.Running))
            .Select(task => task.Id)
            .ToListAsync(cancellationToken);
        foreach (var beat in beats)
        {
            Heartbeat.HeartbeatLog.Yielded(logger, beat, userTask.Id, sessionKey);
            await CancelAsync(beat, cancellationToken);
        }
    }

    public async Task<TaskPageResponse> ListAsync(TaskListQuery query, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var tasks = db.Tasks.AsNoTracking();

        if (query.Status is { } status)
        {
            tasks = tasks.Where(task => task.Status == status);
        }

        if (query.Agent is not null)
        {
            tasks = tasks.Where(task => task.Agent == query.Agent);
        }

        if (query.ParentId is { } parentId)
        {
            tasks = tasks.Where(task => task.ParentId == parentId);
        }

        if (query.Cursor is { } cursor)
        {
            // Ids are version 7 GUIDs, which sort by creation time, so "older than the cursor" is "smaller id".
            tasks = tasks.Where(task => task.Id.CompareTo(cursor) < 0);
        }

        var page = await tasks.OrderByDescending(task => task.Id).Take(query.Limit + 1).ToListAsync(cancellationToken);
        var hasMore = page.Count > query.Limit;
        if (hasMore)
        {
            page.RemoveAt(page.Count - 1);
        }

        var pageIds = page.Select(task => task.Id).ToList();
        var children = await db.Tasks.AsNoTracking()
            .Where(task => task.ParentId != null && pageIds.Contains(task.ParentId.Value))
            .OrderBy(task => task.Id)
            .Select(task => new { task.ParentId, task.Id, task.Status, task.Agent, task.Name })
            .ToListAsync(cancellationToken);
        var childrenByParent = children.ToLookup(
            child => child.ParentId!.Value,
            child => new TaskChildResponse(child.Id, WireNames<AgentTaskStatus>.ToName(child.Status), child.Agent, child.Name));

        var items = page.Select(task => TaskResponse.From(task, childrenByParent[task.Id].ToList())).ToList();
        return new TaskPageResponse(items, hasMore ? page[^1].Id.ToString() : null);
    }

    /// <summary>
    /// Cancels a queued task at once, or requests that a running one stop. Returns null when the task
    /// does not exist, and the unchanged task when it had already finished.
    /// </summary>
    public async Task<CancelResult?> CancelAsync(Guid id, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var change = await store.UpdateAsync(id, (task, events) =>
        {
            if (task.IsFinished)
            {
                return CancelOutcome.AlreadyFinished;
            }

            if (task.Status == AgentTaskStatus.Queued)
            {
                TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, now, "cancelled", "The task was cancelled before it started.");
                return CancelOutcome.Cancelled;
            }

            if (task.CancelRequestedAt is null)
            {
                task.CancelRequestedAt = now;
                events.Add(TaskEventTypes.CancelRequested);
            }

            return CancelOutcome.Requested;
        }, cancellationToken);

        if (change is null)
        {
            return null;
        }

        if (change.Result == CancelOutcome.Cancelled)
        {
            TasksLog.Cancelled(logger, id);
        }

        if (change.Result != CancelOutcome.AlreadyFinished)
        {
            // Removes a task waiting in a lane here, or stops its running attempt.
            // This reaches the task on this instance. On another instance a waiting task finds
            // itself cancelled when its slot comes, and a running attempt is stopped by that
            // instance's next lease renewal (Leases:RenewInterval).
            runningTasks.TryCancel(id);
        }

        return new CancelResult(change.Result, change.Task);
    }

    private AgentTask CreateTask(SubmitTaskRequest request, string? idempotencyKey, string? requestHash)
    {
        var limits = options.Value;
        TaskPriority? priority = request.Priority is null ? null : WireNames<TaskPriority>.Parse(request.Priority);
        var routedPriority = router.Route(priority, request.Name);

        var id = idGenerator.Next();
        return new AgentTask
        {
            Id = id,
            RootId = id,
            Status = AgentTaskStatus.Queued,
            Agent = request.Agent ?? AgentCatalog.DefaultAgent,
            Name = request.Name,
            Input = request.Input!,
            Priority = routedPriority,
            Queue = QueueNames.For(routedPriority),
            Lane = request.Lane ?? LaneNames.Main,
            SessionKey = request.SessionKey,
            Workspace = request.Workspace ?? id.ToString("N"),
            TokenBudget = request.TokenBudget,
            Decompose = request.Decompose ?? false,
            Coordination = request.Coordination is null
                ? TaskCoordination.All
                : WireNames<TaskCoordination>.Parse(request.Coordination),
            TimeoutSeconds = request.TimeoutSeconds ?? limits.DefaultTimeoutSeconds,
            MaxAttempts = request.MaxAttempts ?? limits.DefaultMaxAttempts,
            SubtasksJson = request.Subtasks is null ? null : JsonSerializer.Serialize(request.Subtasks, HashSerializerOptions),
            MetadataJson = request.Metadata is null ? null : JsonSerializer.Serialize(request.Metadata, HashSerializerOptions),
            WebhookUrl = request.WebhookUrl,
            IdempotencyKey = idempotencyKey,
            RequestHash = requestHash,
            // Whole milliseconds, so the 202 shows the same instant as every later read.
            CreatedAt = Timestamps.Truncate(timeProvider.GetUtcNow(), TimeSpan.FromMilliseconds(1)),
        };
    }

    private async Task<AgentTask?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Tasks.AsNoTracking().FirstOrDefaultAsync(task => task.IdempotencyKey == idempotencyKey, cancellationToken);
    }

    private static SubmissionResult Replay(AgentTask existing, string requestHash) =>
        string.Equals(existing.RequestHash, requestHash, StringComparison.Ordinal)
            ? new SubmissionResult(SubmissionOutcome.Replayed, existing)
            : new SubmissionResult(SubmissionOutcome.KeyConflict, existing);

    /// <summary>
    /// Hashes the parsed submission with every object's properties sorted, so that formatting
    /// and property order, also inside <c>metadata</c>, do not matter.
    /// </summary>
    private static string HashRequest(SubmitTaskRequest request)
    {
        var node = JsonSerializer.SerializeToNode(request, HashSerializerOptions);
        var canonical = Canonicalize(node);
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical?.ToJsonString() ?? "null")));
    }

    private static System.Text.Json.Nodes.JsonNode? Canonicalize(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject obj => new System.Text.Json.Nodes.JsonObject(obj
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => KeyValuePair.Create(pair.Key, Canonicalize(pair.Value)))),
        System.Text.Json.Nodes.JsonArray array => new System.Text.Json.Nodes.JsonArray(array.Select(Canonicalize).ToArray()),
        _ => node?.DeepClone(),
    };
}

/// <summary>Filters and paging of <c>GET /api/tasks</c>, already validated.</summary>
public sealed record TaskListQuery(AgentTaskStatus? Status, string? Agent, Guid? ParentId, int Limit, Guid? Cursor);

public enum CancelOutcome
{
    Cancelled,
    Requested,
    AlreadyFinished,
}

public sealed record CancelResult(CancelOutcome Outcome, AgentTask Task);

using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Tasks;

/// <summary>
/// Reads tasks and changes them together with their events. A change and its events are saved in
/// one transaction; the task's <see cref="AgentTask.LastSequence"/> is the concurrency token, so
/// concurrent writers retry instead of storing two events with one sequence.
/// </summary>
public sealed partial class TaskStore
{
    private const int MaxConflictRetries = 8;

    private readonly IDbContextFactory<AgentDbContext> dbFactory;
    private readonly TimeProvider timeProvider;
    private readonly Events.TaskEventBus bus;
    private readonly ITaskOutcomeListener[] outcomeListeners;
    private readonly GroupCommitQueue<PendingUpdate> _batches;
    private readonly GroupCommitQueue<PendingInsert> _inserts;

    public TaskStore(
        IDbContextFactory<AgentDbContext> dbFactory,
        TimeProvider timeProvider,
        Events.TaskEventBus bus,
        IEnumerable<ITaskOutcomeListener> outcomeListeners)
    {
        this.dbFactory = dbFactory;
        this.timeProvider = timeProvider;
        this.bus = bus;
        this.outcomeListeners = outcomeListeners.ToArray();
        _batches = new GroupCommitQueue<PendingUpdate>(SaveBatchAsync, static (update, exception) => update.Fail(exception), static update => update.Id);
        _inserts = new GroupCommitQueue<PendingInsert>(SaveInsertsAsync, static (insert, exception) => insert.Completion.TrySetException(exception));
    }

    public async Task<AgentTask?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Tasks.AsNoTracking().FirstOrDefaultAsync(task => task.Id == id, cancellationToken);
    }

    public async Task<IReadOnlyList<TaskChildResponse>> GetChildrenAsync(Guid parentId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var children = await db.Tasks.AsNoTracking()
            .Where(task => task.ParentId == parentId)
            .OrderBy(task => task.SubtaskIndex)
            .Select(task => new { task.Id, task.Status, task.Agent, task.Name })
            .ToListAsync(cancellationToken);
        return children
            .Select(child => new TaskChildResponse(child.Id, WireNames<AgentTaskStatus>.ToName(child.Status), child.Agent, child.Name))
            .ToList();
    }

    /// <summary>Builds the task as the API returns it, with its children and, for a top-level task, its tree's usage.</summary>
    public async Task<TaskResponse> ToResponseAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var children = await GetChildrenAsync(task.Id, cancellationToken);

        // Only a top-level task reports its tree: a child's tree is its root's.
        TaskTreeUsageResponse? treeUsage = null;
        var isRoot = task.RootId is null || task.RootId == task.Id;
        if (isRoot && (children.Count > 0 || task.TokenBudget is not null))
        {
            var (input, output) = await GetTreeUsageAsync(task.Id, cancellationToken);
            treeUsage = new TaskTreeUsageResponse(input, output, task.TokenBudget);
        }

        return TaskResponse.From(task, children, treeUsage);
    }

    /// <summary>Tokens, input and output, used so far by the tree whose root is <paramref name="rootId"/>.</summary>
    public async Task<long> GetTreeTokensAsync(Guid rootId, CancellationToken cancellationToken)
    {
        var usage = await GetTreeUsageAsync(rootId, cancellationToken);
        return usage.Input + usage.Output;
    }

    /// <summary>Input and output tokens of the task with id <paramref name="rootId"/> and of every task below it.</summary>
    public async Task<(long Input, long Output)> GetTreeUsageAsync(Guid rootId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var rows = await db.Tasks.AsNoTracking()
            .Where(task => task.RootId == rootId || task.Id == rootId)
            .Select(task => new { task.InputTokens, task.OutputTokens })
            .ToListAsync(cancellationToken);
        return (rows.Sum(row => row.InputTokens ?? 0), rows.Sum(row => row.OutputTokens ?? 0));
    }

    /// <summary>
    /// Loads the task, lets <paramref name="change"/> modify it and record events, and saves both.
    /// Returns null when the task does not exist. <paramref name="change"/> may run more than once
    /// when another writer got there first, so it must only touch the task and the buffer.
    /// </summary>
    /// <remarks>
    /// Changes that arrive while a save is under way are saved together in the next one, in one
    /// transaction (group commit), so a burst of children starting and finishing costs a few
    /// round trips instead of one each. A batch that fails is retried change by change, which is
    /// also where write conflicts and storage failures reach the caller.
    /// </remarks>
    public Task<TaskChange<TResult>?> UpdateAsync<TResult>(
        Guid id,
        Func<AgentTask, TaskEventBuffer, TResult> change,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingUpdate<TResult>(this, id, change, cancellationToken);
        _batches.Add(pending);
        return pending.Completion.Task;
    }

    /// <summary>Applies one change in a transaction of its own, retrying when another writer changed the task first.</summary>
    private async Task<TaskChange<TResult>?> UpdateAloneAsync<TResult>(
        Guid id,
        Func<AgentTask, TaskEventBuffer, TResult> change,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var db = dbFactory.CreateDbContext();
            var task = await db.Tasks.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
            if (task is null)
            {
                return null;
            }

            var buffer = new TaskEventBuffer();
            var result = change(task, buffer);
            var events = AppendEvents(db, task, buffer);

            try
            {
                await db.SaveChangesAsync(cancellationToken);
                Published(task, events);
                return new TaskChange<TResult>(task, result, events);
            }
            catch (DbUpdateException exception) when (attempt < MaxConflictRetries && IsWriteConflict(exception))
            {
                // Another writer changed the task since it was read: read it again and redo the change.
            }
        }
    }

    /// <summary>Saves a batch of changes of different tasks in one transaction.</summary>
    private async Task SaveBatchAsync(IReadOnlyList<PendingUpdate> batch)
    {
        if (batch.Count == 1)
        {
            await batch[0].RunAloneAsync();
            return;
        }

        try
        {
            await using var db = dbFactory.CreateDbContext();
            var ids = batch.Select(update => update.Id).ToList();
            var tasks = await db.Tasks.Where(task => ids.Contains(task.Id)).ToDictionaryAsync(task => task.Id);
            foreach (var update in batch)
            {
                if (tasks.TryGetValue(update.Id, out var task))
                {
                    var buffer = new TaskEventBuffer();
                    update.Apply(task, buffer);
                    update.Saved(task, AppendEvents(db, task, buffer));
                }
            }

            await db.SaveChangesAsync();
        }
        catch (Exception)
        {
            // One change, its task or the database failed the batch: each change runs again on
            // its own, which retries conflicts and reports any failure to its own caller. One at a
            // time, so that a failed batch does not take a connection per change from the pool.
            foreach (var update in batch)
            {
                await update.RunAloneAsync();
            }

            return;
        }

        foreach (var update in batch)
        {
            update.Complete(this);
        }
    }

    /// <summary>Inserts a new task with its first events.</summary>
    /// <remarks>
    /// Inserts that arrive while others are being saved share one transaction, as updates do, so
    /// a burst of submissions costs a few commits instead of one each.
    /// </remarks>
    public Task<IReadOnlyList<TaskEvent>> InsertAsync(AgentTask task, TaskEventBuffer buffer, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingInsert(task, buffer, cancellationToken);
        _inserts.Add(pending);
        return pending.Completion.Task;
    }

    private async Task SaveInsertsAsync(IReadOnlyList<PendingInsert> batch)
    {
        if (batch.Count == 1)
        {
            await InsertAloneAsync(batch[0]);
            return;
        }

        List<IReadOnlyList<TaskEvent>> saved = [];
        try
        {
            await using var db = dbFactory.CreateDbContext();
            foreach (var insert in batch)
            {
                insert.Reset();
                db.Tasks.Add(insert.Task);
                saved.Add(AppendEvents(db, insert.Task, insert.Buffer));
            }

            await db.SaveChangesAsync();
        }
        catch (Exception)
        {
            // One insert (a reused idempotency key, say) or the database failed the batch. So each
            // insert runs again on its own and reports its own outcome, one at a time as for updates.
            foreach (var insert in batch)
            {
                await InsertAloneAsync(insert);
            }

            return;
        }

        for (var index = 0; index < batch.Count; index++)
        {
            Published(batch[index].Task, saved[index]);
            batch[index].Completion.TrySetResult(saved[index]);
        }
    }

    private async Task InsertAloneAsync(PendingInsert insert)
    {
        try
        {
            insert.Reset();
            await using var db = dbFactory.CreateDbContext();
            db.Tasks.Add(insert.Task);
            var events = AppendEvents(db, insert.Task, insert.Buffer);
            await db.SaveChangesAsync(insert.CancellationToken);
            Published(insert.Task, events);
            insert.Completion.TrySetResult(events);
        }
        catch (OperationCanceledException exception) when (insert.CancellationToken.IsCancellationRequested)
        {
            insert.Completion.TrySetCanceled(exception.CancellationToken);
        }
        catch (Exception exception)
        {
            insert.Completion.TrySetException(exception);
        }
    }

    public async Task<IReadOnlyList<TaskEvent>> GetEventsAsync(Guid id, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.TaskEvents.AsNoTracking()
            .Where(e => e.TaskId == id && e.Sequence > afterSequence)
            .OrderBy(e => e.Sequence)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }

    /// <summary>Publishes the events of a saved change, and calls the outcome listeners when the change finished the task.</summary>
    private void Published(AgentTask task, IReadOnlyList<TaskEvent> events)
    {
        bus.Publish(events);
        if (task.IsFinished && events.Any(taskEvent => TaskEventTypes.IsFinal(taskEvent.Type)))
        {
            foreach (var listener in outcomeListeners)
            {
                listener.OnFinished(task);
            }
        }
    }

    /// <summary>
    /// Returns whether a save lost a race with another writer of the same task. EF Core may insert
    /// the new event rows before it updates the task, so the loser gets either the task's
    /// concurrency check fail or its event collide with the winner's on (task_id, sequence).
    /// </summary>
    private static bool IsWriteConflict(DbUpdateException exception) =>
        exception is DbUpdateConcurrencyException
        || exception.InnerException is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation, TableName: "task_events" }
        || (exception.InnerException is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 19 } sqlite
            && sqlite.Message.Contains("task_events", StringComparison.Ordinal));

    /// <summary>
    /// Resolution of event timestamps: 100 µs, which is what the embedded store's
    /// <c>DateTimeOffsetToBinaryConverter</c> keeps (PostgreSQL keeps 1 µs). Live subscribers get
    /// an event as published and readers of the store get it as stored, so the timestamp is
    /// truncated before both.
    /// </summary>
    private static readonly TimeSpan EventTimestampResolution = TimeSpan.FromMicroseconds(100);

    private List<TaskEvent> AppendEvents(AgentDbContext db, AgentTask task, TaskEventBuffer buffer)
    {
        var now = Timestamps.Truncate(timeProvider.GetUtcNow(), EventTimestampResolution);
        List<TaskEvent> events = [];
        foreach (var (type, dataJson) in buffer.Events)
        {
            task.LastSequence++;
            var taskEvent = new TaskEvent
            {
                TaskId = task.Id,
                Sequence = task.LastSequence,
                Type = type,
                Timestamp = now,
                DataJson = dataJson,
            };
            db.TaskEvents.Add(taskEvent);
            events.Add(taskEvent);
        }

        foreach (var message in buffer.Transcript)
        {
            // A change may run again after a failed save, which can have given the entry an id.
            message.Id = 0;
            db.SessionMessages.Add(message);
        }

        return events;
    }
}

/// <summary>The outcome of <see cref="TaskStore.UpdateAsync{TResult}"/>: the saved task, the change's result and the events it stored.</summary>
public sealed record TaskChange<TResult>(AgentTask Task, TResult Result, IReadOnlyList<TaskEvent> Events);

using AgentApi.Agents;
using AgentApi.Lanes;
using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks.Supervision;

/// <summary>
/// Stores a parent's children and claims them for the parent's attempt. Children are created
/// already claimed by the instance that runs the parent, because they run inside its attempt and
/// never through a Hangfire job of their own.
/// </summary>
public sealed class ChildTasks(
    IDbContextFactory<AgentDbContext> dbFactory,
    TaskStore store,
    TaskIdGenerator idGenerator,
    InstanceIdentity instance,
    IOptions<LeaseOptions> leaseOptions,
    TimeProvider timeProvider,
    Events.TaskEventBus bus)
{
    /// <summary>The parent's children, by subtask index.</summary>
    public async Task<IReadOnlyList<AgentTask>> LoadAsync(Guid parentId, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Tasks.AsNoTracking()
            .Where(task => task.ParentId == parentId)
            .OrderBy(task => task.SubtaskIndex)
            .ToListAsync(cancellationToken);
    }

    /// <summary>Stores new children, each queued in <paramref name="lane"/> with a fresh subagent session, in one transaction.</summary>
    public async Task<IReadOnlyList<AgentTask>> CreateAsync(
        AgentTask parent,
        IReadOnlyList<(int Index, SubtaskRequest Subtask)> subtasks,
        string lane,
        CancellationToken cancellationToken)
    {
        var children = Build(parent, subtasks, lane);
        await InsertAsync(parent, children, cancellationToken);
        return children;
    }

    /// <summary>
    /// Makes new children without storing them, each queued in <paramref name="lane"/> with a fresh
    /// subagent session and claimed by this instance. <see cref="InsertAsync"/> stores them.
    /// </summary>
    public IReadOnlyList<AgentTask> Build(AgentTask parent, IReadOnlyList<(int Index, SubtaskRequest Subtask)> subtasks, string lane)
    {
        var now = Timestamps.Truncate(timeProvider.GetUtcNow(), TimeSpan.FromMilliseconds(1));
        return subtasks.Select(entry =>
        {
            var agent = entry.Subtask.Agent ?? AgentCatalog.DefaultAgent;
            return new AgentTask
            {
                Id = idGenerator.Next(),
                RootId = parent.RootId ?? parent.Id,
                ParentId = parent.Id,
                SubtaskIndex = entry.Index,
                Status = AgentTaskStatus.Queued,
                Agent = agent,
                Name = entry.Subtask.Name,
                Input = entry.Subtask.Input!,
                Priority = parent.Priority,
                Queue = parent.Queue,
                Lane = lane,
                SessionKey = SessionKeys.NewSubagent(agent, Guid.NewGuid()),
                Workspace = parent.Workspace,
                TimeoutSeconds = entry.Subtask.TimeoutSeconds ?? parent.TimeoutSeconds,
                MaxAttempts = parent.MaxAttempts,
                CreatedAt = now,
                LastSequence = 1,
                LeaseOwner = instance.Id,
                LeaseToken = 1,
                LeaseExpiresAt = now + leaseOptions.Value.Duration,
            };
        }).ToList();
    }

    /// <summary>Stores children made by <see cref="Build"/>, with their <c>queued</c> events, in one transaction.</summary>
    public async Task InsertAsync(AgentTask parent, IReadOnlyList<AgentTask> children, CancellationToken cancellationToken)
    {
        if (children.Count == 0)
        {
            return;
        }

        await using var db = dbFactory.CreateDbContext();
        List<TaskEvent> events = new(children.Count);
        foreach (var child in children)
        {
            db.Tasks.Add(child);
            var queued = new TaskEvent
            {
                TaskId = child.Id,
                Sequence = 1,
                Type = TaskEventTypes.Queued,
                Timestamp = child.CreatedAt,
                DataJson = System.Text.Json.JsonSerializer.Serialize(
                    new { queue = child.Queue, lane = child.Lane, parentId = parent.Id, subtaskIndex = child.SubtaskIndex },
                    System.Text.Json.JsonSerializerOptions.Web),
            };
            db.TaskEvents.Add(queued);
            events.Add(queued);
        }

        await db.SaveChangesAsync(cancellationToken);
        bus.Publish(events);
    }

    /// <summary>
    /// Takes an unfinished child from an earlier attempt of its parent for this one. Returns the
    /// claimed child, or the child unchanged when it has finished meanwhile.
    /// </summary>
    public async Task<AgentTask> ClaimAsync(AgentTask child, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var change = await store.UpdateAsync(child.Id, (task, events) =>
        {
            if (task.IsFinished)
            {
                return false;
            }

            if (task.Status == AgentTaskStatus.Running)
            {
                events.Add(TaskEventTypes.AttemptFailed, new
                {
                    attempt = task.Attempts,
                    error = new { type = "interrupted", message = "The parent's attempt stopped before this child finished." },
                });
                task.Status = AgentTaskStatus.Queued;
            }

            task.LeaseOwner = instance.Id;
            task.LeaseToken++;
            task.LeaseExpiresAt = now + leaseOptions.Value.Duration;
            return true;
        }, cancellationToken);

        return change?.Task ?? child;
    }

    /// <summary>Cancels children that will not run because the parent no longer needs them.</summary>
    public async Task CancelUnstartedAsync(IEnumerable<AgentTask> children, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var child in children.Where(child => !child.IsFinished))
        {
            await store.UpdateAsync(child.Id, (task, events) =>
            {
                if (!task.IsFinished)
                {
                    task.LeaseOwner = null;
                    task.LeaseExpiresAt = null;
                    TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, now, "cancelled", reason);
                }

                return true;
            }, cancellationToken);
        }
    }

    public static string LaneFor(bool nested) => nested ? LaneNames.Nested : LaneNames.Subagent;
}

using System.Text.Json;
using AgentApi.Agents;
using AgentApi.Lanes;
using Microsoft.Extensions.Options;

namespace AgentApi.Tasks.Supervision;

/// <summary>
/// Runs a task that fans out: it gets the subtasks (given, or planned by the agent's model),
/// runs each as a child task in the <c>subagent</c> lane, as many at once as the lane allows,
/// follows the task's coordination mode, and combines the results in a synthesis step in the
/// <c>nested</c> lane. Children that finished in an earlier attempt are reused, never run again.
/// </summary>
public sealed partial class Supervisor(
    ChildTasks children,
    ChildRunner childRunner,
    SubtaskPlanner planner,
    AgentRunner agents,
    LaneDispatcher dispatcher,
    IOptions<TaskOptions> options,
    ILogger<Supervisor> logger)
{
    /// <summary>New children stored in the first transaction: enough to fill a lane while the rest are stored.</summary>
    private const int FirstChunkSize = 100;

    /// <summary>New children stored in each later transaction.</summary>
    private const int ChunkSize = 250;

    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    public static bool IsSupervised(AgentTask task) => task.Decompose || task.SubtasksJson is not null;

    internal async Task<AgentRunResult> RunAsync(TaskWorkItem parentItem, AgentTask parent, AgentRunContext context, CancellationToken cancellationToken)
    {
        var subtasks = parent.SubtasksJson is { } json
            ? JsonSerializer.Deserialize<List<SubtaskRequest>>(json, SerializerOptions) ?? []
            : await planner.PlanAsync(parentItem, parent, context, cancellationToken);
        if (subtasks.Count == 0)
        {
            throw new AgentRunException("invalid_plan", "The task has no subtasks to run.");
        }

        var prepared = await PrepareChildrenAsync(parent, subtasks, cancellationToken);
        var reporter = new ChildReporter(parentItem, parent.Coordination, prepared.Tree.Length);
        var outcomes = await CoordinateAsync(parentItem, parent, prepared, context, reporter, cancellationToken);

        if (context.Budget is { IsExceeded: true } budget)
        {
            throw budget.ExceededError();
        }

        var result = await CombineAsync(parentItem, parent, outcomes, context, cancellationToken);
        return result with { Transcript = agents.Exchange(parent, result.Text) };
    }

    /// <summary>The spawner a plain run's spawn_subagent and ask_agent tools use.</summary>
    internal ISubtaskRunner CreateSpawner(TaskWorkItem item, AgentTask task, AgentRunContext context) =>
        new Spawner(children, childRunner, item, task, context, options.Value);

    /// <summary>
    /// The children of this parent, one per subtask index: those stored by an earlier attempt, and
    /// new ones for the rest. New children go into their lane at once and are stored in chunks
    /// meanwhile, the first chunk small. A child's writes wait for its chunk's insert, so the first
    /// child of a large fan-out runs without waiting for any insert.
    /// </summary>
    private async Task<Children> PrepareChildrenAsync(
        AgentTask parent,
        List<SubtaskRequest> subtasks,
        CancellationToken cancellationToken)
    {
        var existing = (await children.LoadAsync(parent.Id, cancellationToken))
            .Where(child => child.SubtaskIndex < subtasks.Count)
            .ToDictionary(child => child.SubtaskIndex!.Value);
        var missing = Enumerable.Range(0, subtasks.Count)
            .Where(index => !existing.ContainsKey(index))
            .Select(index => (index, subtasks[index]))
            .ToList();
        if (existing.Count > 0)
        {
            SupervisorLog.ReusingChildren(logger, parent.Id, existing.Count, existing.Values.Count(child => child.IsFinished));
        }

        var created = children.Build(parent, missing, LaneNames.Subagent);
        var chunks = Chunk(created).ToList();
        var stored = new Dictionary<int, Task>(created.Count);
        var inserts = new List<TaskCompletionSource>(chunks.Count);
        foreach (var chunk in chunks)
        {
            var insert = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            inserts.Add(insert);
            foreach (var child in chunk)
            {
                stored[child.SubtaskIndex!.Value] = insert.Task;
            }
        }

        var tree = new AgentTask[subtasks.Count];
        foreach (var (index, child) in existing)
        {
            tree[index] = child;
        }

        foreach (var child in created)
        {
            tree[child.SubtaskIndex!.Value] = child;
        }

        _ = StoreInChunksAsync(parent, chunks, inserts, cancellationToken);
        return new Children(tree, stored);
    }

    private static IEnumerable<IReadOnlyList<AgentTask>> Chunk(IReadOnlyList<AgentTask> created)
    {
        for (var start = 0; start < created.Count;)
        {
            var size = Math.Min(start == 0 ? FirstChunkSize : ChunkSize, created.Count - start);
            yield return created.Skip(start).Take(size).ToList();
            start += size;
        }
    }

    /// <summary>
    /// Stores the chunks one after another. A failure fails that chunk's insert and the inserts of
    /// every later chunk, and a cancelled parent stores no further chunk.
    /// </summary>
    private async Task StoreInChunksAsync(
        AgentTask parent,
        List<IReadOnlyList<AgentTask>> chunks,
        List<TaskCompletionSource> inserts,
        CancellationToken cancellationToken)
    {
        var index = 0;
        try
        {
            for (; index < chunks.Count; index++)
            {
                // An insert is not cancelled once it has begun, because a cancel that arrives as it
                // commits would leave stored children that nothing runs or finishes.
                cancellationToken.ThrowIfCancellationRequested();
                await children.InsertAsync(parent, chunks[index], CancellationToken.None);
                inserts[index].TrySetResult();
            }
        }
        catch (Exception exception)
        {
            // The children not stored end their runs without writing, and their parent's attempt fails with this error.
            for (; index < chunks.Count; index++)
            {
                if (exception is OperationCanceledException)
                {
                    inserts[index].TrySetCanceled(cancellationToken);
                }
                else
                {
                    inserts[index].TrySetException(exception);
                }
            }
        }
    }

    private async Task<AgentTask[]> CoordinateAsync(
        TaskWorkItem parentItem,
        AgentTask parent,
        Children prepared,
        AgentRunContext context,
        ChildReporter reporter,
        CancellationToken cancellationToken)
    {
        var tree = prepared.Tree;
        var outcomes = new AgentTask[tree.Length];
        var toRun = new List<int>();
        for (var index = 0; index < tree.Length; index++)
        {
            // Children of an earlier attempt are loaded already; new ones are never finished.
            if (!prepared.Stored.ContainsKey(index) && tree[index].IsFinished)
            {
                outcomes[index] = tree[index];
            }
            else
            {
                toRun.Add(index);
            }
        }

        // An earlier attempt may already have decided the outcome.
        var decided = parent.Coordination switch
        {
            TaskCoordination.First => outcomes.Any(child => child?.Status == AgentTaskStatus.Succeeded),
            TaskCoordination.FailFast => outcomes.Any(child => child is not null && child.Status != AgentTaskStatus.Succeeded),
            _ => false,
        };
        if (decided)
        {
            await Task.WhenAll(prepared.Stored.Values);
            await children.CancelUnstartedAsync(toRun.Select(index => tree[index]), "The parent's coordination no longer needs this child.", CancellationToken.None);
            return await ReloadAsync(parent.Id, outcomes, tree, toRun, cancellationToken);
        }

        using var stopSiblings = CancellationTokenSource.CreateLinkedTokenSource(parentItem.CancellationToken);
        var runs = new List<Task<(int Index, AgentTask Outcome)>>(toRun.Count);
        foreach (var index in toRun)
        {
            runs.Add(RunChildAsync(parentItem, tree[index], index, prepared.Stored.GetValueOrDefault(index), context, stopSiblings.Token, cancellationToken));
        }

        await foreach (var run in Task.WhenEach(runs))
        {
            var (index, outcome) = await run;
            outcomes[index] = outcome;
            reporter.Completed(index, outcome);

            var stopOthers = parent.Coordination switch
            {
                TaskCoordination.First => outcome.Status == AgentTaskStatus.Succeeded,
                TaskCoordination.FailFast => outcome.Status != AgentTaskStatus.Succeeded,
                _ => false,
            };
            if (stopOthers && !stopSiblings.IsCancellationRequested)
            {
                SupervisorLog.StoppingSiblings(logger, parent.Id, index, WireNames<TaskCoordination>.ToName(parent.Coordination));
                await stopSiblings.CancelAsync();
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return outcomes;
    }

    /// <summary>
    /// Runs one child. A new child, with <paramref name="stored"/> set, is claimed already and may
    /// run before its insert commits. When that insert fails, the run ends without writing and this
    /// throws the insert's error, which fails the parent's attempt.
    /// </summary>
    private async Task<(int Index, AgentTask Outcome)> RunChildAsync(
        TaskWorkItem parentItem,
        AgentTask child,
        int index,
        Task? stored,
        AgentRunContext context,
        CancellationToken stopToken,
        CancellationToken parentToken)
    {
        // Children of an earlier attempt are taken over here.
        var claimed = stored is null ? await children.ClaimAsync(child, parentToken) : child;
        if (claimed.IsFinished)
        {
            return (index, claimed);
        }

        var outcome = await childRunner.RunAsync(parentItem, claimed, context.Budget, stopToken, stored);
        if (stored is not null)
        {
            await stored;
        }

        return (index, outcome);
    }

    /// <summary>Fills in the outcomes of the children at <paramref name="indexes"/> as they are stored now.</summary>
    private async Task<AgentTask[]> ReloadAsync(Guid parentId, AgentTask[] outcomes, AgentTask[] tree, List<int> indexes, CancellationToken cancellationToken)
    {
        var fresh = (await children.LoadAsync(parentId, cancellationToken)).ToDictionary(child => child.Id);
        foreach (var index in indexes)
        {
            outcomes[index] = fresh.GetValueOrDefault(tree[index].Id) ?? tree[index];
        }

        return outcomes;
    }

    /// <summary>A parent's children by subtask index, and for each new one the insert of its chunk.</summary>
    private sealed record Children(AgentTask[] Tree, Dictionary<int, Task> Stored);
}

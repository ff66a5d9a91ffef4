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

        var (tree, created) = await PrepareChildrenAsync(parent, subtasks, cancellationToken);
        var reporter = new ChildReporter(parentItem, parent.Coordination, tree.Count);
        var outcomes = await CoordinateAsync(parentItem, parent, tree, created, context, reporter, cancellationToken);
        await reporter.FlushAsync();

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
    /// new ones for the rest. New children are stored in chunks, the first small, and each chunk's
    /// children can start while the next is still being stored, so a large fan-out does not wait
    /// for every insert before its first child runs.
    /// </summary>
    private async Task<(List<Task<AgentTask>> Tree, HashSet<int> Created)> PrepareChildrenAsync(
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

        // Continuations run inline when a chunk is stored, so its children reach their lane in
        // subtask order, which a lane keeps.
        var pending = missing.ToDictionary(entry => entry.index, _ => new TaskCompletionSource<AgentTask>());
        var tree = Enumerable.Range(0, subtasks.Count)
            .Select(index => existing.TryGetValue(index, out var child) ? Task.FromResult(child) : pending[index].Task)
            .ToList();

        _ = StoreInChunksAsync(parent, missing, pending, cancellationToken);
        return (tree, pending.Keys.ToHashSet());
    }

    private async Task StoreInChunksAsync(
        AgentTask parent,
        List<(int Index, SubtaskRequest Subtask)> missing,
        Dictionary<int, TaskCompletionSource<AgentTask>> pending,
        CancellationToken cancellationToken)
    {
        var stored = 0;
        try
        {
            while (stored < missing.Count)
            {
                var size = stored == 0 ? FirstChunkSize : ChunkSize;
                var chunk = missing.Skip(stored).Take(size).ToList();
                foreach (var child in await children.CreateAsync(parent, chunk, LaneNames.Subagent, cancellationToken))
                {
                    pending[child.SubtaskIndex!.Value].TrySetResult(child);
                }

                stored += chunk.Count;
            }
        }
        catch (Exception exception)
        {
            // The children not stored fail their runs, and so the parent's attempt, with this error.
            foreach (var (index, _) in missing.Skip(stored))
            {
                if (exception is OperationCanceledException)
                {
                    pending[index].TrySetCanceled(cancellationToken);
                }
                else
                {
                    pending[index].TrySetException(exception);
                }
            }
        }
    }

    private async Task<AgentTask[]> CoordinateAsync(
        TaskWorkItem parentItem,
        AgentTask parent,
        List<Task<AgentTask>> tree,
        HashSet<int> created,
        AgentRunContext context,
        ChildReporter reporter,
        CancellationToken cancellationToken)
    {
        var outcomes = new AgentTask[tree.Count];
        var toRun = new List<int>();
        for (var index = 0; index < tree.Count; index++)
        {
            // Children of an earlier attempt are loaded already; new ones are never finished.
            if (!created.Contains(index) && tree[index].Result.IsFinished)
            {
                outcomes[index] = tree[index].Result;
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
            var all = await Task.WhenAll(tree);
            await children.CancelUnstartedAsync(toRun.Select(index => all[index]), "The parent's coordination no longer needs this child.", CancellationToken.None);
            return await ReloadAsync(parent.Id, outcomes, all, toRun, cancellationToken);
        }

        using var stopSiblings = CancellationTokenSource.CreateLinkedTokenSource(parentItem.CancellationToken);
        var runs = new List<Task<(int Index, AgentTask Outcome)>>(toRun.Count);
        foreach (var index in toRun)
        {
            runs.Add(RunChildAsync(parentItem, tree[index], index, created.Contains(index), context, stopSiblings.Token, cancellationToken));
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

    private async Task<(int Index, AgentTask Outcome)> RunChildAsync(
        TaskWorkItem parentItem,
        Task<AgentTask> stored,
        int index,
        bool isNew,
        AgentRunContext context,
        CancellationToken stopToken,
        CancellationToken parentToken)
    {
        var child = await stored;

        // New children are stored claimed; those of an earlier attempt are taken over here.
        var claimed = isNew ? child : await children.ClaimAsync(child, parentToken);
        if (claimed.IsFinished)
        {
            return (index, claimed);
        }

        var outcome = await childRunner.RunAsync(parentItem, claimed, context.Budget, stopToken);
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
}

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

    /// <summary>The children of this parent, one per subtask index: those stored by an earlier attempt, and new ones for the rest.</summary>
    private async Task<(List<AgentTask> Tree, HashSet<Guid> Created)> PrepareChildrenAsync(AgentTask parent, List<SubtaskRequest> subtasks, CancellationToken cancellationToken)
    {
        var existing = (await children.LoadAsync(parent.Id, cancellationToken))
            .Where(child => child.SubtaskIndex < subtasks.Count)
            .ToDictionary(child => child.SubtaskIndex!.Value);
        var missing = Enumerable.Range(0, subtasks.Count)
            .Where(index => !existing.ContainsKey(index))
            .Select(index => (index, subtasks[index]))
            .ToList();
        var created = new HashSet<Guid>();
        foreach (var child in await children.CreateAsync(parent, missing, LaneNames.Subagent, cancellationToken))
        {
            existing[child.SubtaskIndex!.Value] = child;
            created.Add(child.Id);
        }

        if (existing.Count > missing.Count)
        {
            SupervisorLog.ReusingChildren(logger, parent.Id, existing.Count - missing.Count, existing.Values.Count(child => child.IsFinished));
        }

        return (Enumerable.Range(0, subtasks.Count).Select(index => existing[index]).ToList(), created);
    }

    private async Task<AgentTask[]> CoordinateAsync(
        TaskWorkItem parentItem,
        AgentTask parent,
        List<AgentTask> tree,
        HashSet<Guid> created,
        AgentRunContext context,
        ChildReporter reporter,
        CancellationToken cancellationToken)
    {
        var outcomes = new AgentTask[tree.Count];
        var toRun = new List<int>();
        for (var index = 0; index < tree.Count; index++)
        {
            if (tree[index].IsFinished)
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
            await children.CancelUnstartedAsync(toRun.Select(index => tree[index]), "The parent's coordination no longer needs this child.", CancellationToken.None);
            return await ReloadAsync(parent.Id, outcomes, tree, toRun, cancellationToken);
        }

        using var stopSiblings = CancellationTokenSource.CreateLinkedTokenSource(parentItem.CancellationToken);
        var runs = new List<Task<(int Index, AgentTask Outcome)>>(toRun.Count);
        foreach (var index in toRun)
        {
            runs.Add(RunChildAsync(parentItem, tree[index], index, created.Contains(tree[index].Id), context, stopSiblings.Token, cancellationToken));
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
        AgentTask child,
        int index,
        bool isNew,
        AgentRunContext context,
        CancellationToken stopToken,
        CancellationToken parentToken)
    {
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
    private async Task<AgentTask[]> ReloadAsync(Guid parentId, AgentTask[] outcomes, List<AgentTask> tree, List<int> indexes, CancellationToken cancellationToken)
    {
        var fresh = (await children.LoadAsync(parentId, cancellationToken)).ToDictionary(child => child.Id);
        foreach (var index in indexes)
        {
            outcomes[index] = fresh.GetValueOrDefault(tree[index].Id) ?? tree[index];
        }

        return outcomes;
    }
}

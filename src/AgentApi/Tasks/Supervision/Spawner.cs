using AgentApi.Agents;
using AgentApi.Agents.Tools;
using AgentApi.Lanes;

namespace AgentApi.Tasks.Supervision;

/// <summary>
/// Starts children for one run's spawn_subagent and ask_agent calls. Each child is a stored task
/// with the run's task as parent, in a fresh session, held to the limits on children per task
/// and on spawns waiting at once.
/// </summary>
internal sealed class Spawner(
    ChildTasks children,
    ChildRunner childRunner,
    TaskWorkItem parentItem,
    AgentTask parent,
    AgentRunContext context,
    TaskOptions options) : ISubtaskRunner
{
    private readonly SemaphoreSlim _indexLock = new(1, 1);
    private int? _nextIndex;
    private int _waiting;

    public async Task<SubtaskOutcome> RunAsync(string agent, string input, string lane, CancellationToken cancellationToken)
    {
        if (parent.ParentId is not null && parent.Lane == LaneNames.Nested)
        {
            throw new ToolException("forbidden", "An agent called through ask_agent may not start further agents. Reply with what you have.");
        }

        if (Interlocked.Increment(ref _waiting) > options.MaxWaitingSpawns)
        {
            Interlocked.Decrement(ref _waiting);
            throw new ToolException("limit_exceeded",
                $"This task already has {options.MaxWaitingSpawns} spawns waiting (setting Tasks:MaxWaitingSpawns); wait for their results first.");
        }

        try
        {
            var index = await NextIndexAsync(cancellationToken);
            var created = await children.CreateAsync(parent, [(index, new SubtaskRequest { Agent = agent, Input = input })], lane, cancellationToken);
            var outcome = await childRunner.RunAsync(parentItem, created[0], context.Budget, parentItem.CancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            return new SubtaskOutcome(
                outcome.Id,
                outcome.Agent,
                WireNames<AgentTaskStatus>.ToName(outcome.Status),
                outcome.ResultText,
                outcome.ErrorType,
                outcome.ErrorMessage);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private async Task<int> NextIndexAsync(CancellationToken cancellationToken)
    {
        await _indexLock.WaitAsync(cancellationToken);
        try
        {
            _nextIndex ??= (await children.LoadAsync(parent.Id, cancellationToken)).Select(child => child.SubtaskIndex ?? -1).DefaultIfEmpty(-1).Max() + 1;
            if (_nextIndex >= options.MaxChildren)
            {
                throw new ToolException("limit_exceeded",
                    $"Task {parent.Id} has reached its limit of {options.MaxChildren} children (setting Tasks:MaxChildren).");
            }

            return _nextIndex++.Value;
        }
        finally
        {
            _indexLock.Release();
        }
    }
}

using AgentApi.Agents;
using AgentApi.Lanes;

namespace AgentApi.Tasks.Supervision;

/// <summary>
/// Runs one claimed child in its lane and waits for it. The child is an ordinary task attempt
/// with its own retries, deadline and events. It shares the token budget and the cancellation
/// with its parent, so stopping the parent stops the child, but a child never stops its parent.
/// </summary>
public sealed class ChildRunner(
    TaskRunner runner,
    LaneDispatcher dispatcher,
    RunningTaskRegistry runningTasks,
    TaskStore store,
    TimeProvider timeProvider)
{
    /// <summary>
    /// Returns the child as it ended, or as it is stored when its attempt was interrupted.
    /// <paramref name="stored"/> is the insert of a new child, or null for a stored one. A new
    /// child may start before that insert commits, and its writes wait for it.
    /// </summary>
    internal async Task<AgentTask> RunAsync(TaskWorkItem parentItem, AgentTask child, TokenBudget? budget, CancellationToken stopToken, Task? stored = null)
    {
        using var item = TaskWorkItem.Create(child, runner, timeProvider, budget, stored);
        using var registration = runningTasks.Register(child.Id, item.Cancellation);
        using var stop = stopToken.UnsafeRegister(static state => Cancel((CancellationTokenSource)state!), item.Cancellation);

        // On the parent's slot when the parent runs in the child's lane, so a full lane cannot deadlock.
        if (!dispatcher.Schedule(item, holder: parentItem))
        {
            throw new InstanceStoppingException("The instance is stopping; the child runs again with its parent's next attempt.");
        }

        await item.Completion.Task;
        if (item.HandedBackAtShutdown)
        {
            throw new InstanceStoppingException("The instance stopped before this child started; it runs with its parent's next attempt.");
        }

        if (item.Outcome is { } outcome)
        {
            return outcome;
        }

        return stored is { IsCompletedSuccessfully: false } ? child : await store.FindAsync(child.Id, CancellationToken.None) ?? child;
    }

    private static void Cancel(CancellationTokenSource cancellation)
    {
        try
        {
            cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The child has finished.
        }
    }
}

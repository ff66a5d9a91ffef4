using AgentApi.Errors;
using AgentApi.Security;
using AgentApi.Tasks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace AgentApi.Events;

/// <summary>
/// The SignalR hub at <c>/hubs/tasks</c>. <see cref="SubscribeTask"/> streams one task's events
/// from a sequence on, stored ones first; <see cref="SubscribeAll"/> streams every task's events
/// except <c>output</c>, and lane changes, for dashboards; <see cref="SubscribeAllBatched"/>
/// streams the same events in batches.
/// </summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class TaskHub(TaskHubSubscriptions subscriptions, TaskStore store, KeyConnections keyConnections) : Hub
{
    private const string RevocationItem = "revocation";
    private const string AllModeItem = "all-mode";

    public const string Path = "/hubs/tasks";

    /// <summary>The client method that receives a task event.</summary>
    public const string TaskEventMethod = "taskEvent";

    /// <summary>The client method that receives an array of task events, after <see cref="SubscribeAllBatched"/>.</summary>
    public const string TaskEventsMethod = "taskEvents";

    /// <summary>The client method that receives a lane, as in <c>GET /api/lanes</c>.</summary>
    public const string LaneChangedMethod = "laneChanged";

    internal const string AllGroup = "all";
    internal const string AllBatchedGroup = "all-batched";

    /// <summary>
    /// Sends the task's stored events with a sequence above <paramref name="afterSequence"/>, then
    /// its live ones, until its final event. Subscribing again to the same task restarts from the
    /// new sequence.
    /// </summary>
    public async Task SubscribeTask(string taskId, long afterSequence)
    {
        if (!Guid.TryParse(taskId, out var id))
        {
            throw new HubException($"Task id '{MessageText.Quote(taskId)}' is not a valid task id; pass the id from POST /api/tasks.");
        }

        if (afterSequence < 0)
        {
            throw new HubException($"afterSequence is {afterSequence}; it must be 0 or more: the last sequence already seen.");
        }

        if (await store.FindAsync(id, Context.ConnectionAborted) is null)
        {
            throw new HubException($"Task '{id}' was not found.");
        }

        if (!subscriptions.Subscribe(Context.ConnectionId, id, afterSequence))
        {
            throw new HubException(
                $"This connection already follows {TaskHubSubscriptions.MaxTasksPerConnection} tasks; unsubscribe from one first.");
        }
    }

    public void UnsubscribeTask(string taskId)
    {
        if (Guid.TryParse(taskId, out var id))
        {
            subscriptions.Unsubscribe(Context.ConnectionId, id);
        }
    }

    /// <summary>
    /// Sends every task's events except <c>output</c>, one <c>taskEvent</c> each, and
    /// <c>laneChanged</c>, from now on. Calling it again does nothing; after
    /// <see cref="SubscribeAllBatched"/> it fails.
    /// </summary>
    public Task SubscribeAll() => JoinAllAsync(AllEventsMode.PerEvent);

    /// <summary>
    /// Sends the same events as <see cref="SubscribeAll"/>, but as <c>taskEvents</c> arrays of up to
    /// <see cref="EventOptions.MaxBatchSize"/> events, each sent at most
    /// <see cref="EventOptions.BatchInterval"/> after its first event; and <c>laneChanged</c>.
    /// Calling it again does nothing; after <see cref="SubscribeAll"/> it fails.
    /// </summary>
    public Task SubscribeAllBatched() => JoinAllAsync(AllEventsMode.Batched);

    /// <summary>Closes the connection when its key is revoked.</summary>
    public override Task OnConnectedAsync()
    {
        Context.Items[RevocationItem] = keyConnections.Register(Context.User?.Identity?.Name, Context.Abort);
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue(RevocationItem, out var revocation))
        {
            (revocation as IDisposable)?.Dispose();
        }

        subscriptions.RemoveConnection(Context.ConnectionId);
        if (Context.Items.TryGetValue(AllModeItem, out var mode))
        {
            subscriptions.AllLeft((AllEventsMode)mode!);
        }

        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>
    /// Adds the connection to the group of <paramref name="mode"/>. A connection keeps the first
    /// mode it chose: switching would send the events of the batch under way twice or not at all.
    /// </summary>
    private async Task JoinAllAsync(AllEventsMode mode)
    {
        if (Context.Items.TryGetValue(AllModeItem, out var joined))
        {
            if ((AllEventsMode)joined! == mode)
            {
                return;
            }

            throw new HubException(
                $"This connection already called {MethodName((AllEventsMode)joined)}, and a connection receives every task's events in one mode only; open another connection to call {MethodName(mode)}.");
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, mode == AllEventsMode.Batched ? AllBatchedGroup : AllGroup, Context.ConnectionAborted);

        // Marked only once joined, so that a failed join is not counted out on disconnect.
        if (Context.Items.TryAdd(AllModeItem, mode))
        {
            subscriptions.AllJoined(mode);
        }
    }

    private static string MethodName(AllEventsMode mode) =>
        mode == AllEventsMode.Batched ? nameof(SubscribeAllBatched) : nameof(SubscribeAll);
}

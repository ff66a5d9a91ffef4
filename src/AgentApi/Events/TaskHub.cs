using AgentApi.Errors;
using AgentApi.Security;
using AgentApi.Tasks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace AgentApi.Events;

/// <summary>
/// The SignalR hub at <c>/hubs/tasks</c>. <see cref="SubscribeTask"/> streams one task's events
/// from a sequence on, stored ones first; <see cref="SubscribeAll"/> streams every task's events
/// except <c>output</c>, and lane changes, for dashboards.
/// </summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class TaskHub(TaskHubSubscriptions subscriptions, TaskStore store, KeyConnections keyConnections) : Hub
{
    private const string RevocationItem = "revocation";

    public const string Path = "/hubs/tasks";

    /// <summary>The client method that receives a task event.</summary>
    public const string TaskEventMethod = "taskEvent";

    /// <summary>The client method that receives a lane, as in <c>GET /api/lanes</c>.</summary>
    public const string LaneChangedMethod = "laneChanged";

    internal const string AllGroup = "all";

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

    /// <summary>Sends every task's events except <c>output</c>, and <c>laneChanged</c>, from now on.</summary>
    public async Task SubscribeAll()
    {
        if (!Context.Items.ContainsKey(AllGroup))
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, AllGroup, Context.ConnectionAborted);

            // Marked only once joined, so that a failed join is not counted out on disconnect.
            if (Context.Items.TryAdd(AllGroup, true))
            {
                subscriptions.AllJoined();
            }
        }
    }

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
        if (Context.Items.ContainsKey(AllGroup))
        {
            subscriptions.AllLeft();
        }

        return base.OnDisconnectedAsync(exception);
    }
}

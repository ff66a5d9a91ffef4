using System.Collections.Concurrent;
using AgentApi.Tasks;
using Microsoft.AspNetCore.SignalR;

namespace AgentApi.Events;

/// <summary>
/// The tasks each hub connection follows. Each one is streamed by its own loop from a
/// <see cref="TaskEventFeed"/>, so one task's events reach a connection in sequence order.
/// </summary>
public sealed class TaskHubSubscriptions(
    IHubContext<TaskHub> hub,
    TaskEventFeed feed,
    ILogger<TaskHubSubscriptions> logger)
{
    public const int MaxTasksPerConnection = 100;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Guid, CancellationTokenSource>> _connections = new();
    private int _allCount;
    private int _allBatchedCount;
    private int _laneResendRequested;

    /// <summary>Connections here that called <c>SubscribeAll</c>.</summary>
    public int AllCount => Volatile.Read(ref _allCount);

    /// <summary>Connections here that called <c>SubscribeAllBatched</c>.</summary>
    public int AllBatchedCount => Volatile.Read(ref _allBatchedCount);

    /// <summary>Whether any connection here receives every task's events, in either mode.</summary>
    public bool HasAllSubscribers => AllCount > 0 || AllBatchedCount > 0;

    public bool Subscribe(string connectionId, Guid taskId, long afterSequence)
    {
        var tasks = _connections.GetOrAdd(connectionId, static _ => new ConcurrentDictionary<Guid, CancellationTokenSource>());
        if (!tasks.ContainsKey(taskId) && tasks.Count >= MaxTasksPerConnection)
        {
            return false;
        }

        var stop = new CancellationTokenSource();
        if (tasks.TryGetValue(taskId, out var previous))
        {
            previous.Cancel();
        }

        tasks[taskId] = stop;
        _ = StreamAsync(connectionId, taskId, afterSequence, tasks, stop);
        return true;
    }

    public void Unsubscribe(string connectionId, Guid taskId)
    {
        if (_connections.TryGetValue(connectionId, out var tasks) && tasks.TryRemove(taskId, out var stop))
        {
            stop.Cancel();
        }
    }

    public void RemoveConnection(string connectionId)
    {
        if (_connections.TryRemove(connectionId, out var tasks))
        {
            foreach (var stop in tasks.Values)
            {
                stop.Cancel();
            }
        }
    }

    internal void AllJoined(AllEventsMode mode)
    {
        Interlocked.Increment(ref AllCounter(mode));
        Volatile.Write(ref _laneResendRequested, 1);
    }

    /// <summary>
    /// Returns whether a connection joined either group since the last call, so that every lane
    /// should be sent again: a new dashboard has none of them yet.
    /// </summary>
    internal bool TakeLaneResendRequest() => Interlocked.Exchange(ref _laneResendRequested, 0) == 1;

    internal void AllLeft(AllEventsMode mode) => Interlocked.Decrement(ref AllCounter(mode));

    private ref int AllCounter(AllEventsMode mode) => ref mode == AllEventsMode.Batched ? ref _allBatchedCount : ref _allCount;

    private async Task StreamAsync(
        string connectionId,
        Guid taskId,
        long afterSequence,
        ConcurrentDictionary<Guid, CancellationTokenSource> tasks,
        CancellationTokenSource stop)
    {
        // Off the hub method's call, so the client's invocation completes before events arrive.
        await Task.Yield();
        var client = hub.Clients.Client(connectionId);
        try
        {
            await foreach (var taskEvent in feed.StreamAsync(taskId, afterSequence, stop.Token))
            {
                await client.SendAsync(TaskHub.TaskEventMethod, TaskEventResponse.From(taskEvent), stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Unsubscribed, subscribed again, or disconnected.
        }
        catch (Exception exception)
        {
            EventsLog.StreamFailed(logger, taskId, connectionId, exception);
        }
        finally
        {
            // Not disposed: a concurrent Subscribe or Unsubscribe may still cancel it, and it holds no timer.
            tasks.TryRemove(new KeyValuePair<Guid, CancellationTokenSource>(taskId, stop));
        }
    }
}

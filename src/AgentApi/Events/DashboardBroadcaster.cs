using System.Threading.Channels;
using AgentApi.Lanes;
using AgentApi.Tasks;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace AgentApi.Events;

/// <summary>
/// Sends every task's events except <c>output</c> to the hub's <c>SubscribeAll</c> group one by
/// one and to its <c>SubscribeAllBatched</c> group in batches, and to both each lane whose numbers
/// changed, at most once per <see cref="EventOptions.LaneUpdateInterval"/>. When a connection
/// joins either group, every lane goes to both groups at the next interval. At each interval it
/// also closes the connections that fell behind by more than <see cref="EventOptions.SlowClientTimeout"/>.
/// </summary>
public sealed class DashboardBroadcaster(
    TaskEventBus bus,
    TaskHubSubscriptions subscriptions,
    TaskHubLifetimeManager hubConnections,
    LaneDispatcher lanes,
    IOptions<EventOptions> options,
    TimeProvider timeProvider,
    ILogger<DashboardBroadcaster> logger) : BackgroundService, ITaskEventSink
{
    // Wait, not DropWrite: with DropWrite a full channel drops the event and TryWrite still returns
    // true, so the drop could not be counted. OnEvent calls only TryWrite, which does not wait.
    private readonly Channel<TaskEvent> _events = Channel.CreateBounded<TaskEvent>(new BoundedChannelOptions(options.Value.BroadcastBufferSize)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>The most events that one write to a <c>SubscribeAll</c> connection carries.</summary>
    internal const int MaxEventsPerWrite = 500;

    private long _dropped;

    public void OnEvent(TaskEvent taskEvent)
    {
        // Output is for the task's own followers; dashboards show lifecycle and progress.
        if (taskEvent.Type == TaskEventTypes.Output || !subscriptions.HasAllSubscribers)
        {
            return;
        }

        if (!_events.Writer.TryWrite(taskEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public void OnResync()
    {
        // Dashboards keep no position; they read the current state again when they reconnect.
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var registration = bus.SubscribeAll(this);
        var batcher = new TaskEventBatcher(
            hubConnections.SendBatchToAllAsync,
            options.Value.BatchInterval,
            options.Value.MaxBatchSize,
            timeProvider,
            logger);
        await Task.WhenAll(
            BroadcastEventsAsync(batcher, stoppingToken),
            SendBatchesOnTimeAsync(batcher, stoppingToken),
            BroadcastLanesAsync(stoppingToken));
    }

    /// <summary>
    /// Sends each event to the <c>SubscribeAll</c> group and adds it to the batch for the
    /// <c>SubscribeAllBatched</c> group. One loop does both, so each group gets the events in the
    /// order they were published. The events that queued up while one send was under way go out
    /// together in the next, up to <see cref="MaxEventsPerWrite"/>. Each connection still receives
    /// one <c>taskEvent</c> per event, but in one write. So the loop keeps up when the rate is high,
    /// and adds no wait when it is low.
    /// </summary>
    private async Task BroadcastEventsAsync(TaskEventBatcher batcher, CancellationToken stoppingToken)
    {
        var reader = _events.Reader;
        var pending = new List<TaskEventResponse>();
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                while (pending.Count < MaxEventsPerWrite && reader.TryRead(out var taskEvent))
                {
                    var response = TaskEventResponse.From(taskEvent);
                    if (subscriptions.AllCount > 0)
                    {
                        pending.Add(response);
                    }

                    if (subscriptions.AllBatchedCount > 0 && batcher.Add(response))
                    {
                        await batcher.SendAsync(stoppingToken);
                    }
                }

                if (pending.Count > 0)
                {
                    try
                    {
                        await hubConnections.SendEventsToAllAsync(pending, stoppingToken);
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
                    {
                        EventsLog.BroadcastFailed(logger, exception);
                    }

                    pending.Clear();
                }

                if (Interlocked.Exchange(ref _dropped, 0) is > 0 and var dropped)
                {
                    EventsLog.BroadcastDropped(logger, options.Value.BroadcastBufferSize, dropped);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static async Task SendBatchesOnTimeAsync(TaskEventBatcher batcher, CancellationToken stoppingToken)
    {
        try
        {
            await batcher.SendOnTimeAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task BroadcastLanesAsync(CancellationToken stoppingToken)
    {
        var sent = new Dictionary<string, LaneResponse>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(options.Value.LaneUpdateInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                hubConnections.CloseSlowClients();
                if (!subscriptions.HasAllSubscribers)
                {
                    sent.Clear();
                    continue;
                }

                // Every lane goes to the group again, so that a connection that just joined gets them all.
                if (subscriptions.TakeLaneResendRequest())
                {
                    sent.Clear();
                }

                foreach (var snapshot in lanes.GetSnapshots())
                {
                    var lane = LaneResponse.From(snapshot);
                    if (sent.TryGetValue(lane.Name, out var previous) && SameNumbers(previous, lane))
                    {
                        continue;
                    }

                    sent[lane.Name] = lane;
                    try
                    {
                        hubConnections.SendLaneToAll(lane);
                    }
                    catch (Exception exception)
                    {
                        EventsLog.BroadcastFailed(logger, exception);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Compares what a dashboard shows of a lane; wait percentiles and ages alone do not count as a change.</summary>
    private static bool SameNumbers(LaneResponse previous, LaneResponse current) =>
        previous.MaxConcurrent == current.MaxConcurrent
        && previous.Active == current.Active
        && previous.Queued == current.Queued
        && previous.Completed == current.Completed
        && previous.Failed == current.Failed
        && previous.WaitReason == current.WaitReason
        && previous.RateLimited == current.RateLimited;
}

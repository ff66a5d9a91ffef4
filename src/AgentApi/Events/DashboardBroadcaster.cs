using System.Threading.Channels;
using AgentApi.Lanes;
using AgentApi.Tasks;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace AgentApi.Events;

/// <summary>
/// Sends every task's events except <c>output</c> to the hub's <c>SubscribeAll</c> group, and each
/// lane whose numbers changed, at most once per <see cref="EventOptions.LaneUpdateInterval"/>.
/// </summary>
public sealed class DashboardBroadcaster(
    TaskEventBus bus,
    TaskHubSubscriptions subscriptions,
    IHubContext<TaskHub> hub,
    LaneDispatcher lanes,
    IOptions<EventOptions> options,
    TimeProvider timeProvider,
    ILogger<DashboardBroadcaster> logger) : BackgroundService, ITaskEventSink
{
    private readonly Channel<TaskEvent> _events = Channel.CreateBounded<TaskEvent>(new BoundedChannelOptions(options.Value.BroadcastBufferSize)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    private long _dropped;

    public void OnEvent(TaskEvent taskEvent)
    {
        // Output is for the task's own followers; dashboards show lifecycle and progress.
        if (taskEvent.Type == TaskEventTypes.Output || subscriptions.AllCount == 0)
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
        await Task.WhenAll(BroadcastEventsAsync(stoppingToken), BroadcastLanesAsync(stoppingToken));
    }

    private async Task BroadcastEventsAsync(CancellationToken stoppingToken)
    {
        var group = hub.Clients.Group(TaskHub.AllGroup);
        try
        {
            await foreach (var taskEvent in _events.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await group.SendAsync(TaskHub.TaskEventMethod, TaskEventResponse.From(taskEvent), stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    EventsLog.BroadcastFailed(logger, exception);
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

    private async Task BroadcastLanesAsync(CancellationToken stoppingToken)
    {
        var group = hub.Clients.Group(TaskHub.AllGroup);
        var sent = new Dictionary<string, LaneResponse>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(options.Value.LaneUpdateInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (subscriptions.AllCount == 0)
                {
                    sent.Clear();
                    continue;
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
                        await group.SendAsync(TaskHub.LaneChangedMethod, lane, stoppingToken);
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
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

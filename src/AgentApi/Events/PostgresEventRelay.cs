using System.Threading.Channels;
using AgentApi.Storage;
using AgentApi.Tasks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentApi.Events;

/// <summary>
/// Passes task events between instances that share one PostgreSQL database, through
/// LISTEN/NOTIFY: events stored here are sent as notifications after they are saved, and
/// notifications from other instances are delivered to the readers here.
/// </summary>
/// <remarks>
/// Notifications are not stored, so one sent while a listener is disconnected is lost. Readers
/// that keep a position do not depend on them, because they read gaps, and after a reconnect
/// everything after their position, from the store. Dashboards show the current state when they reload.
/// </remarks>
public sealed class PostgresEventRelay(
    NpgsqlDataSource dataSource,
    TaskEventBus bus,
    TaskStore store,
    InstanceIdentity instance,
    Security.ApiKeyStore keys,
    IOptions<EventOptions> options,
    TimeProvider timeProvider,
    ILogger<PostgresEventRelay> logger) : DatabaseLoopService
{
    public const string Channel = "agentapi_task_events";

    /// <summary>The channel on which an instance announces that it created or revoked a stored API key.</summary>
    public const string KeysChannel = "agentapi_keys";

    private const int MaxEventsPerSend = 500;
    private static readonly TimeSpan LivenessCheckInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(30);

    private readonly Channel<bool> _keysChanged = System.Threading.Channels.Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly Channel<bool> _keysToReload = System.Threading.Channels.Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly Channel<RelayEvent> _received = System.Threading.Channels.Channel.CreateUnbounded<RelayEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    protected override ILogger StopLogger => logger;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outbound = bus.OpenOutbound(options.Value.RelayBufferSize);
        keys.Changed += () => _keysChanged.Writer.TryWrite(true);
        return Task.WhenAll(
            SendAsync(outbound, stoppingToken),
            ListenAsync(stoppingToken),
            DeliverAsync(stoppingToken),
            SendKeyChangesAsync(stoppingToken),
            ReloadKeysAsync(stoppingToken));
    }

    private async Task SendAsync(ChannelReader<TaskEvent> outbound, CancellationToken stoppingToken)
    {
        List<TaskEvent> batch = new(MaxEventsPerSend);
        try
        {
            while (await outbound.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < MaxEventsPerSend && outbound.TryRead(out var taskEvent))
                {
                    batch.Add(taskEvent);
                }

                try
                {
                    await NotifyAsync(batch, stoppingToken);
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    EventsLog.RelaySendFailed(logger, batch.Count, exception);
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task NotifyAsync(List<TaskEvent> events, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        foreach (var payload in RelayPayload.Build(instance.Id, events))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_notify($1, $2)")
            {
                Parameters = { new NpgsqlParameter { Value = Channel }, new NpgsqlParameter { Value = payload } },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                try
                {
                    connection.Notification += OnNotification;
                    await using (var listen = new NpgsqlCommand($"LISTEN {Channel}; LISTEN {KeysChannel}", connection))
                    {
                        await listen.ExecuteNonQueryAsync(stoppingToken);
                    }

                    EventsLog.RelayListening(logger, Channel);
                    delay = TimeSpan.FromSeconds(1);

                    // Events the other instances stored while this one was not listening are in the store.
                    bus.Resync();
                    _keysToReload.Writer.TryWrite(true);
                    while (true)
                    {
                        if (!await connection.WaitAsync(LivenessCheckInterval, stoppingToken))
                        {
                            // Quiet for a while: make sure the connection is still there.
                            await using var ping = new NpgsqlCommand("SELECT 1", connection);
                            await ping.ExecuteScalarAsync(stoppingToken);
                        }
                    }
                }
                finally
                {
                    connection.Notification -= OnNotification;
                    await ListenConnections.UnlistenAsync(connection);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException or System.IO.IOException)
            {
                EventsLog.RelayListenFailed(logger, (long)delay.TotalMilliseconds, exception);
            }

            try
            {
                await Task.Delay(delay, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification)
    {
        if (notification.Channel == KeysChannel)
        {
            if (notification.Payload != instance.Id)
            {
                _keysToReload.Writer.TryWrite(true);
            }

            return;
        }

        RelayPayload? payload;
        try
        {
            payload = RelayPayload.Parse(notification.Payload);
        }
        catch (System.Text.Json.JsonException exception)
        {
            EventsLog.RelayBadPayload(logger, exception);
            return;
        }

        if (payload is null || payload.Instance == instance.Id)
        {
            return;
        }

        foreach (var relayEvent in payload.Events)
        {
            _received.Writer.TryWrite(relayEvent);
        }
    }

    /// <summary>Delivers received events in the order they came; ones sent without their data are read from the store first.</summary>
    private async Task DeliverAsync(CancellationToken stoppingToken)
    {
        List<TaskEvent> ready = [];
        try
        {
            while (await _received.Reader.WaitToReadAsync(stoppingToken))
            {
                while (_received.Reader.TryRead(out var relayEvent))
                {
                    if (!relayEvent.DataOmitted)
                    {
                        ready.Add(relayEvent.ToTaskEvent());
                        continue;
                    }

                    bus.Deliver(ready);
                    ready.Clear();
                    await DeliverFromStoreAsync(relayEvent, stoppingToken);
                }

                bus.Deliver(ready);
                ready.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendKeyChangesAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var _ in _keysChanged.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await using var command = dataSource.CreateCommand($"SELECT pg_notify('{KeysChannel}', $1)");
                    command.Parameters.Add(new NpgsqlParameter { Value = instance.Id });
                    await command.ExecuteNonQueryAsync(stoppingToken);
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    EventsLog.KeyNoticeFailed(logger, exception);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReloadKeysAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var _ in _keysToReload.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await keys.ReloadAsync(stoppingToken);
                }
                catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
                {
                    EventsLog.KeyNoticeFailed(logger, exception);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverFromStoreAsync(RelayEvent relayEvent, CancellationToken stoppingToken)
    {
        if (!bus.IsWatched(relayEvent.TaskId))
        {
            return;
        }

        try
        {
            bus.Deliver(await store.GetEventsAsync(relayEvent.TaskId, relayEvent.Sequence - 1, 1, stoppingToken));
        }
        catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
        {
            // A reader that follows the task reads the gap from the store with the task's next event.
            EventsLog.RelaySendFailed(logger, 1, exception);
        }
    }
}

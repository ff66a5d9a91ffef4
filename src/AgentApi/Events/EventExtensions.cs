using AgentApi.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace AgentApi.Events;

public static class EventExtensions
{
    /// <summary>Registers the event bus, the hub and, on PostgreSQL, the relay to other instances.</summary>
    public static IServiceCollection AddEvents(this IServiceCollection services, IConfiguration configuration, StorageInfo storage)
    {
        services.AddOptions<EventOptions>()
            .Bind(configuration.GetSection(EventOptions.SectionName))
            .Validate(options => options.LaneUpdateInterval > TimeSpan.Zero, "Events:LaneUpdateInterval must be more than 0.")
            .Validate(options => options.OutputInterval >= TimeSpan.Zero, "Events:OutputInterval must be 0 or more.")
            .Validate(options => options.BroadcastBufferSize >= 1, "Events:BroadcastBufferSize must be 1 or more.")
            .Validate(options => options.RelayBufferSize >= 1, "Events:RelayBufferSize must be 1 or more.")
            .Validate(
                options => options.BatchInterval >= EventOptions.MinBatchInterval && options.BatchInterval <= EventOptions.MaxBatchInterval,
                "Events:BatchInterval must be from 00:00:00.001 to 00:00:01 (1 ms to 1 s).")
            .Validate(
                options => options.MaxBatchSize is >= 1 and <= EventOptions.MaxBatchSizeLimit,
                "Events:MaxBatchSize must be from 1 to 10000 events.")
            .Validate(
                options => options.SlowClientTimeout >= EventOptions.MinSlowClientTimeout && options.SlowClientTimeout <= EventOptions.MaxSlowClientTimeout,
                "Events:SlowClientTimeout must be from 00:00:00.100 to 00:10:00 (100 ms to 10 minutes).")
            .ValidateOnStart();
        // JSON stays the default protocol; clients that ask for MessagePack get the same keys.
        services.AddSignalR(options => options.AddFilter<HubErrorLogging>())
            .AddMessagePackProtocol(options => options.SerializerOptions = HubMessagePack.SerializerOptions);

        // HubErrorLogging logs failed calls instead, so the dispatcher keeps only its critical entries.
        services.AddLogging(logging => logging.AddFilter(HubErrorLogging.DispatcherCategory, LogLevel.Critical));
        services.AddSingleton<TaskEventBus>();
        services.AddSingleton<TaskEventFeed>();
        services.AddSingleton<TaskHubSubscriptions>();
        services.AddSingleton<TaskHubLifetimeManager>();
        services.AddSingleton<HubLifetimeManager<TaskHub>>(provider => provider.GetRequiredService<TaskHubLifetimeManager>());
        services.AddHostedService<DashboardBroadcaster>();

        var relayEnabled = configuration.GetValue($"{EventOptions.SectionName}:{nameof(EventOptions.RelayEnabled)}", true);
        if (storage.Mode == StorageMode.Postgres && relayEnabled)
        {
            services.AddHostedService<PostgresEventRelay>();
        }

        return services;
    }

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder endpoints)
    {
        // SignalR closes a connection whose send has not finished after TransportSendTimeout (10 s
        // by default). It stays above Events:SlowClientTimeout and one lane interval, so that the
        // broadcast closes a client that fell behind first, and logs it.
        var events = endpoints.ServiceProvider.GetRequiredService<IOptions<EventOptions>>().Value;
        var sendTimeout = events.SlowClientTimeout + events.LaneUpdateInterval + TimeSpan.FromSeconds(1);
        endpoints.MapHub<TaskHub>(TaskHub.Path, options =>
        {
            if (sendTimeout > options.TransportSendTimeout)
            {
                options.TransportSendTimeout = sendTimeout;
            }
        });
        return endpoints;
    }
}

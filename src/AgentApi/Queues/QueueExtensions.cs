using AgentApi.Security;
using AgentApi.Storage;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Dashboard;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentApi.Queues;

public static class QueueExtensions
{
    private const string HangfireSchema = "hangfire";

    /// <summary>
    /// Registers Hangfire on PostgreSQL (or in memory in embedded mode) with one server that
    /// listens to <c>high</c>, <c>default</c> and <c>low</c>, in that order.
    /// </summary>
    public static IServiceCollection AddQueues(this IServiceCollection services, IConfiguration configuration, StorageInfo storage)
    {
        services.Configure<QueueOptions>(configuration.GetSection(QueueOptions.SectionName));
        services.AddSingleton<PriorityRouter>();
        services.AddExceptionHandler<DashboardBadRequestHandler>();

        if (storage.Mode == StorageMode.Postgres)
        {
            services.AddSingleton(provider => CreatePostgresStorage(
                storage.PostgresConnectionString!,
                provider.GetRequiredService<NpgsqlDataSource>(),
                provider.GetRequiredService<IOptions<QueueOptions>>().Value));
            services.AddSingleton<JobStorage>(provider => provider.GetRequiredService<PostgreSqlStorage>());
        }
        else
        {
            services.AddSingleton<JobStorage>(_ => new Hangfire.InMemory.InMemoryStorage());
        }

        // Hangfire's default activator is process-wide. This one builds jobs from this host's
        // container, so each host in a process runs its jobs against its own services.
        services.AddSingleton<JobActivator>(provider =>
            new AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>()));

        services.AddHangfire((provider, configuration) => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseLogProvider(new HostLogProvider(provider.GetRequiredService<ILoggerFactory>()))
            .UseStorage(provider.GetRequiredService<JobStorage>()));

        var hostedServicesBefore = services.Count;
        services.AddHangfireServer((provider, server) =>
        {
            var options = provider.GetRequiredService<IOptions<QueueOptions>>().Value;
            server.Queues = QueueNames.InPriorityOrder;
            server.WorkerCount = options.WorkerCount;
            server.SchedulePollingInterval = TimeSpan.FromSeconds(1);
            server.ServerName = $"agentapi:{Environment.MachineName}:{Environment.ProcessId}";
        });
        BoundStopOfAddedServer(services, hostedServicesBefore);

        return services;
    }

    /// <summary>
    /// Replaces the hosted service that AddHangfireServer added with one whose stop ends when the
    /// host's stop token fires, without the exception that Hangfire's own stop throws then.
    /// </summary>
    private static void BoundStopOfAddedServer(IServiceCollection services, int countBefore)
    {
        var added = services.Skip(countBefore)
            .Single(descriptor => descriptor.ServiceType == typeof(IHostedService) && descriptor.ImplementationFactory is not null);
        var createServer = added.ImplementationFactory!;

        // In the same place, because hosted services start in order and stop in reverse order.
        services[services.IndexOf(added)] = new ServiceDescriptor(
            typeof(IHostedService),
            provider => new BoundedStopHostedService(
                (IHostedService)createServer(provider),
                "The Hangfire server",
                provider.GetRequiredService<ILogger<BoundedStopHostedService>>()),
            added.Lifetime);
    }

    /// <summary>Maps the Hangfire dashboard at <c>/hangfire</c>; it is read-only without the admin scope.</summary>
    public static IEndpointRouteBuilder MapQueues(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new DashboardAuthorizationFilter()],
            IsReadOnlyFunc = context => !context.GetHttpContext().User.HasClaim(ApiKeyScopes.ClaimType, ApiKeyScopes.Admin),
            DisplayStorageConnectionString = false,
            DashboardTitle = "AgentApi jobs",
            AppPath = "/",
        });

        return endpoints;
    }

    private static PostgreSqlStorage CreatePostgresStorage(
        string connectionString,
        NpgsqlDataSource dataSource,
        QueueOptions options)
    {
        var storageOptions = new PostgreSqlStorageOptions
        {
            SchemaName = HangfireSchema,
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = options.PollInterval,
            InvisibilityTimeout = options.InvisibilityTimeout,
            UseSlidingInvisibilityTimeout = true,
        };

        // Workers, the dashboard and the schedulers each hold a connection at times.
        var hangfireConnectionString = StorageExtensions.WithPoolDefaults(connectionString, options.WorkerCount + 10);
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(hangfireConnectionString, storageOptions), storageOptions);
        var stockMonitoring = storage.QueueProviders.GetProvider(QueueNames.Default).GetJobQueueMonitoringApi();
        var queue = new StrictPriorityJobQueue(
            storage,
            dataSource,
            HangfireSchema,
            options.PollInterval,
            options.InvisibilityTimeout);
        storage.QueueProviders.Add(new StrictPriorityJobQueueProvider(queue, stockMonitoring), QueueNames.InPriorityOrder);
        return storage;
    }
}

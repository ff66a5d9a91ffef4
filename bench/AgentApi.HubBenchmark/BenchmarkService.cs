using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using AgentApi.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The real service on a loopback port, as the integration tests host it: embedded storage in a
/// temporary folder, or the PostgreSQL database that <c>ConnectionStrings__Postgres</c> names.
/// </summary>
internal sealed class BenchmarkService : WebApplicationFactory<Program>
{
    private readonly string? _dataDirectory;
    private readonly BenchmarkOptions _options;

    private BenchmarkService(string? postgres, BenchmarkOptions options)
    {
        PostgresConnectionString = postgres;
        _options = options;
        if (postgres is null)
        {
            _dataDirectory = Directory.CreateTempSubdirectory("agentapi-hubbench-").FullName;
        }
    }

    /// <summary>A key made for this run only, accepted by the hub.</summary>
    public string ApiKey { get; } = "hubbench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public string? PostgresConnectionString { get; }

    public string StorageName => PostgresConnectionString is null ? "embedded (SQLite)" : "PostgreSQL";

    /// <summary>Counts the dashboard broadcast's warnings: events it dropped and sends that failed.</summary>
    public BroadcastWarnings Warnings { get; } = new();

    /// <summary>The server's part of each measured event's latency.</summary>
    public TimedHubLifetimeManager Timing => Services.GetRequiredService<TimedHubLifetimeManager>();

    /// <summary>The hub's address, for example <c>http://127.0.0.1:41234/hubs/tasks</c>.</summary>
    public Uri HubUrl => new(new Uri(Services.GetRequiredService<IServer>()
        .Features.Get<IServerAddressesFeature>()!
        .Addresses.First()), TaskHub.Path);

    /// <summary>Starts the service with the batch settings of <paramref name="options"/>.</summary>
    public static BenchmarkService Start(BenchmarkOptions options)
    {
        var postgres = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
        var service = new BenchmarkService(string.IsNullOrWhiteSpace(postgres) ? null : postgres, options);
        service.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        service.StartServer();
        return service;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Auth:ApiKeys:0", ApiKey);
        if (PostgresConnectionString is not null)
        {
            builder.UseSetting("ConnectionStrings:Postgres", PostgresConnectionString);
        }
        else
        {
            builder.UseSetting("Storage:DataDirectory", _dataDirectory);
        }

        if (_options.FlushInterval is { } flushInterval)
        {
            builder.UseSetting("Events:BatchInterval", flushInterval.ToString("c", CultureInfo.InvariantCulture));
        }

        if (_options.MaxBatchSize is { } maxBatchSize)
        {
            builder.UseSetting("Events:MaxBatchSize", maxBatchSize.ToString(CultureInfo.InvariantCulture));
        }

        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.ConfigureLogging(logging => logging.AddProvider(Warnings));
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimedHubLifetimeManager>();
            services.AddSingleton<TaskHubLifetimeManager>(provider => provider.GetRequiredService<TimedHubLifetimeManager>());
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _dataDirectory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still open; the folder is under the system's temporary folder.
            }
        }
    }
}

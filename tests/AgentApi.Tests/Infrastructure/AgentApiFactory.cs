using System.Net.Http.Json;
using AgentApi.Storage;
using AgentApi.Tasks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Infrastructure;

/// <summary>
/// Hosts the real service in memory over a real database: a fresh PostgreSQL database, or the
/// embedded SQLite default in a temporary folder. Settings are passed as host settings so that
/// the composition root can read them when it chooses its storage.
/// </summary>
public sealed class AgentApiFactory : WebApplicationFactory<Program>
{
    public const string AdminKey = "test-admin-key-5f1c2a9e7b3d4c6a";

    private readonly Dictionary<string, string?> _settings;

    private readonly Action<IServiceCollection>? _configureServices;
    private bool _ownsDataDirectory;

    private AgentApiFactory(Dictionary<string, string?> settings, string? dataDirectory, Action<IServiceCollection>? configureServices)
    {
        _settings = settings;
        DataDirectory = dataDirectory;
        _configureServices = configureServices;
    }

    /// <summary>The embedded mode's folder, or null on PostgreSQL.</summary>
    public string? DataDirectory { get; }

    public LogCapture Logs { get; } = new();

    /// <summary>Starts the service on a new, empty PostgreSQL database.</summary>
    public static async Task<AgentApiFactory> StartPostgresAsync(
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync();
        var all = DefaultSettings(settings);
        all["ConnectionStrings:Postgres"] = connectionString;
        return Started(new AgentApiFactory(all, dataDirectory: null, configureServices));
    }

    /// <summary>Starts another instance of the service on an existing PostgreSQL database.</summary>
    public static Task<AgentApiFactory> StartPostgresOnAsync(
        string connectionString,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var all = DefaultSettings(settings);
        all["ConnectionStrings:Postgres"] = connectionString;
        return Task.FromResult(Started(new AgentApiFactory(all, dataDirectory: null, configureServices)));
    }

    /// <summary>
    /// Starts the service on a real loopback port, for clients that need a socket (SignalR over
    /// WebSockets, a browser), on <paramref name="connectionString"/> or a new PostgreSQL database.
    /// Use <see cref="ServerAddress"/>; the in-memory <c>Server</c> is not there.
    /// </summary>
    public static async Task<AgentApiFactory> StartPostgresOnKestrelAsync(
        string? connectionString = null,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var all = DefaultSettings(settings);
        all["ConnectionStrings:Postgres"] = connectionString ?? await PostgresServer.CreateDatabaseAsync();
        var factory = new AgentApiFactory(all, dataDirectory: null, configureServices);
        factory.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        factory.StartServer();
        factory.ClientOptions.BaseAddress = factory.ServerAddress;
        return factory;
    }

    /// <summary>The address the service listens on, when it was started with <see cref="StartPostgresOnKestrelAsync"/>.</summary>
    public Uri ServerAddress => new(Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!
        .Addresses.First());

    /// <summary>Starts the service in embedded mode, in <paramref name="dataDirectory"/> or a new temporary folder.</summary>
    public static AgentApiFactory StartEmbedded(
        IDictionary<string, string?>? settings = null,
        string? dataDirectory = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var ownsDirectory = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("agentapi-test-").FullName;
        var all = DefaultSettings(settings);
        all["Storage:DataDirectory"] = dataDirectory;
        var factory = new AgentApiFactory(all, dataDirectory, configureServices) { _ownsDataDirectory = ownsDirectory };
        return Started(factory);
    }

    public string? PostgresConnectionString => _settings.GetValueOrDefault("ConnectionStrings:Postgres");

    /// <summary>A client that sends the admin key in <c>X-Api-Key</c>.</summary>
    public HttpClient CreateAuthenticatedClient(string key = AdminKey)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = ClientOptions.BaseAddress });
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    public AgentDbContext CreateDbContext() =>
        Services.GetRequiredService<IDbContextFactory<AgentDbContext>>().CreateDbContext();

    /// <summary>Submits a task and returns its id.</summary>
    public async Task<Guid> SubmitAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/tasks", body).WaitAsync(TestTimeouts.Request);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var task = await response.Content.ReadFromJsonAsync<TaskDto>().WaitAsync(TestTimeouts.Request);
        return task!.Id;
    }

    /// <summary>Polls the task until <paramref name="predicate"/> is true or the timeout passes.</summary>
    public static async Task<TaskDto> WaitForTaskAsync(HttpClient client, Guid id, Func<TaskDto, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = TimeProvider.System.GetUtcNow() + (timeout ?? TestTimeouts.Task);
        TaskDto? last = null;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            last = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{id}").WaitAsync(TestTimeouts.Request);
            if (last is not null && predicate(last))
            {
                return last;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"Task {id} did not reach the expected state; last status '{last?.Status}'.");
    }

    public static Task<TaskDto> WaitForFinishAsync(HttpClient client, Guid id, TimeSpan? timeout = null) =>
        WaitForTaskAsync(client, id, task => task.Status is "succeeded" or "failed" or "cancelled" or "timed_out", timeout);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        if (_configureServices is not null)
        {
            builder.ConfigureServices(_configureServices);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && DataDirectory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (_ownsDataDirectory)
            {
                try
                {
                    Directory.Delete(DataDirectory, recursive: true);
                }
                catch (IOException)
                {
                    // A file still open elsewhere; the folder is under the system's temporary folder.
                }
            }
        }
    }

    private static Dictionary<string, string?> DefaultSettings(IDictionary<string, string?>? overrides)
    {
        Dictionary<string, string?> settings = new(StringComparer.OrdinalIgnoreCase)
        {
            ["Auth:ApiKeys:0"] = AdminKey,
            ["RateLimits:PermitsPerWindow"] = "0",
            ["Models:Default:Provider"] = "simulated",
            ["Models:Default:LatencyMs"] = "0",
            ["Queues:WorkerCount"] = "4",
            ["Queues:PollInterval"] = "00:00:00.200",
            ["Tasks:RetryBaseDelay"] = "00:00:00.050",
            ["Tasks:RetryMaxDelay"] = "00:00:00.200",
            ["Dispatcher:ShutdownGracePeriod"] = "00:00:01",
            ["Leases:RecoveryInterval"] = "00:00:01",
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
        };

        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    private static AgentApiFactory Started(AgentApiFactory factory)
    {
        // Touching Services builds and starts the host, including migrations and Hangfire.
        _ = factory.Services;
        return factory;
    }
}

/// <summary>The task JSON as tests read it.</summary>
public sealed record TaskDto(
    Guid Id,
    string Status,
    string Agent,
    string? Name,
    string Priority,
    string Queue,
    string Lane,
    string? SessionKey,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Attempts,
    int MaxAttempts,
    TaskProgressResponse Progress,
    TaskResultResponse? Result,
    TaskErrorResponse? Error,
    Guid? ParentId = null,
    string? Workspace = null,
    TaskTreeUsageResponse? TreeUsage = null,
    List<TaskChildResponse>? Children = null,
    string? Origin = null);

public sealed record TaskEventDto(Guid TaskId, long Sequence, string Type, DateTimeOffset Timestamp, System.Text.Json.JsonElement? Data);

public sealed record TaskPageDto(List<TaskDto> Items, string? NextCursor);

public static class TestTimeouts
{
    public static readonly TimeSpan Request = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Task = TimeSpan.FromSeconds(30);
}

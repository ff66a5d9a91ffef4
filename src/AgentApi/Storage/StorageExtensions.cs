using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AgentApi.Storage;

public static class StorageExtensions
{
    private const string PostgresConnectionName = "Postgres";

    /// <summary>
    /// Chooses PostgreSQL when <c>ConnectionStrings:Postgres</c> is set and the embedded SQLite
    /// default otherwise, and registers <see cref="IDbContextFactory{AgentDbContext}"/>.
    /// </summary>
    public static StorageInfo AddStorage(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(PostgresConnectionName);
        var services = builder.Services;

        StorageInfo info;
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            info = new StorageInfo(StorageMode.Postgres, connectionString, SqlitePath: null);
            services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
            services.AddPooledDbContextFactory<PostgresAgentDbContext>((provider, options) =>
                options.UseNpgsql(provider.GetRequiredService<NpgsqlDataSource>()).UseSnakeCaseNamingConvention());
            services.AddSingleton<IDbContextFactory<AgentDbContext>,
                AgentDbContextFactory<PostgresAgentDbContext>>();
        }
        else
        {
            var options = builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>()
                ?? new StorageOptions();
            var directory = Path.GetFullPath(options.DataDirectory);
            Directory.CreateDirectory(directory);
            var sqlitePath = Path.Combine(directory, "agentapi.db");

            info = new StorageInfo(StorageMode.Embedded, PostgresConnectionString: null, sqlitePath);
            services.AddPooledDbContextFactory<SqliteAgentDbContext>(contextOptions =>
                contextOptions.UseSqlite($"Data Source={sqlitePath};Default Timeout=30").UseSnakeCaseNamingConvention());
            services.AddSingleton<IDbContextFactory<AgentDbContext>,
                AgentDbContextFactory<SqliteAgentDbContext>>();
        }

        services.AddSingleton(info);
        return info;
    }

    /// <summary>Applies pending migrations and logs which storage mode is in use.</summary>
    public static async Task InitializeStorageAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var info = app.Services.GetRequiredService<StorageInfo>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AgentApi.Storage");

        if (info.Mode == StorageMode.Embedded)
        {
            StorageLog.EmbeddedMode(logger, info.SqlitePath!);
        }
        else
        {
            var builder = new NpgsqlConnectionStringBuilder(info.PostgresConnectionString);
            StorageLog.PostgresMode(logger, builder.Host, builder.Database);
        }

        var factory = app.Services.GetRequiredService<IDbContextFactory<AgentDbContext>>();
        await using var db = factory.CreateDbContext();
        await db.Database.MigrateAsync(cancellationToken);
        var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).Count();

        if (info.Mode == StorageMode.Embedded)
        {
            // Write-ahead logging lets readers (the API) proceed while a writer (a job) commits.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        StorageLog.SchemaReady(logger, applied);
    }
}

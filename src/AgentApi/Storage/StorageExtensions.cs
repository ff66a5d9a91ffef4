using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace AgentApi.Storage;

public static class StorageExtensions
{
    private const string PostgresConnectionName = "Postgres";

    /// <summary>
    /// Connections AgentApi's own tables may use when the connection string sets no
    /// <c>Maximum Pool Size</c>. Hangfire has a pool of its own, and the two together stay under
    /// PostgreSQL's default <c>max_connections</c> of 100.
    /// </summary>
    public const int DefaultMaxPoolSize = 50;

    /// <summary>
    /// Statements EF Core puts in one command of a <c>SaveChanges</c>; a larger save sends several
    /// commands in its one transaction.
    /// </summary>
    /// <remarks>
    /// An insert into <c>tasks</c> (44 columns) is about 1,000 characters of SQL, so 40 statements
    /// keep a command's text under 42,500 characters and its parameter table small: both stay off
    /// the large object heap (objects of 85,000 bytes or more). With the provider's default, the
    /// group commits of a fan-out of 1,000 children built commands whose text and parameter
    /// tables were larger than that, and the garbage collector ran more full (gen2) collections
    /// than gen0 ones to reclaim them.
    /// </remarks>
    internal const int MaxStatementsPerCommand = 40;

    private static readonly string[] MaxPoolSizeKeywords = ["Maximum Pool Size", "MaxPoolSize"];

    private static readonly string[] NoResetOnCloseKeywords = ["No Reset On Close", "NoResetOnClose"];

    /// <summary>
    /// Sets <c>Maximum Pool Size</c> to <paramref name="size"/> and <c>No Reset On Close</c> to
    /// true, each unless the connection string sets it.
    /// </summary>
    /// <remarks>
    /// Without No Reset On Close, Npgsql sends <c>DISCARD ALL</c> each time a pooled connection is
    /// used again: about 23 statements of a task's 95 in bench/sql-cost.sh. The service keeps no
    /// session state on pooled connections: its advisory locks are transaction-scoped, and the
    /// two listeners end their <c>LISTEN</c> before they give their connection back.
    /// </remarks>
    public static string WithPoolDefaults(string connectionString, int size)
    {
        // NpgsqlConnectionStringBuilder reports every known keyword as present, so the keys as
        // written are read with the plain builder. The names are Npgsql's spellings of the keyword.
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!MaxPoolSizeKeywords.Any(written.ContainsKey))
        {
            builder.MaxPoolSize = size;
        }

        if (!NoResetOnCloseKeywords.Any(written.ContainsKey))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

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
            services.AddSingleton(_ => NpgsqlDataSource.Create(WithPoolDefaults(connectionString, DefaultMaxPoolSize)));
            services.AddPooledDbContextFactory<PostgresAgentDbContext>((provider, options) => options
                .UseNpgsql(provider.GetRequiredService<NpgsqlDataSource>(), npgsql => npgsql.MaxBatchSize(MaxStatementsPerCommand))
                .UseSnakeCaseNamingConvention()
                .UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>())
                .ConfigureWarnings(QuietSaveConflicts));
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
            services.AddPooledDbContextFactory<SqliteAgentDbContext>((provider, contextOptions) => contextOptions
                .UseSqlite($"Data Source={sqlitePath};Default Timeout=30", sqlite => sqlite.MaxBatchSize(MaxStatementsPerCommand))
                .UseSnakeCaseNamingConvention()
                .UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>())
                .ConfigureWarnings(QuietSaveConflicts));
            services.AddSingleton<IDbContextFactory<AgentDbContext>,
                AgentDbContextFactory<SqliteAgentDbContext>>();
        }

        // Each context names its host's logger factory. EF Core shares its internal services
        // between contexts with equal options, and without this a second host in the same
        // process would log through the first host's factory after that host stopped.
        services.AddSingleton(info);
        return info;
    }

    /// <summary>
    /// Applies pending migrations and logs which storage mode is in use. Waits up to
    /// <see cref="StorageOptions.StartupTimeout"/> for a PostgreSQL server that is still starting,
    /// and throws <see cref="StorageStartupException"/> with the fix when the database cannot be used.
    /// </summary>
    public static async Task InitializeStorageAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var info = app.Services.GetRequiredService<StorageInfo>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AgentApi.Storage");
        var options = app.Services.GetRequiredService<IConfiguration>().GetSection(StorageOptions.SectionName).Get<StorageOptions>()
            ?? new StorageOptions();
        var timeProvider = app.Services.GetRequiredService<TimeProvider>();

        if (info.Mode == StorageMode.Embedded)
        {
            StorageLog.EmbeddedMode(logger, info.SqlitePath!);
            await using var sqlite = new SqliteAgentDbContext(MigrationOptions<SqliteAgentDbContext>(
                builder => builder.UseSqlite($"Data Source={info.SqlitePath};Default Timeout=30")));
            await MigrateAsync(sqlite, logger, cancellationToken);

            // Write-ahead logging lets readers (the API) proceed while a writer (a job) commits.
            await sqlite.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            return;
        }

        var connection = new NpgsqlConnectionStringBuilder(info.PostgresConnectionString);
        StorageLog.PostgresMode(logger, connection.Host, connection.Database);
        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();
        var deadline = timeProvider.GetUtcNow() + options.StartupTimeout;
        while (true)
        {
            try
            {
                await using var postgres = new PostgresAgentDbContext(MigrationOptions<PostgresAgentDbContext>(
                    builder => builder.UseNpgsql(dataSource)));
                await MigrateAsync(postgres, logger, cancellationToken);
                return;
            }
            catch (NpgsqlException exception) when (IsUnreachable(exception) && timeProvider.GetUtcNow() < deadline)
            {
                StorageLog.WaitingForPostgres(logger, connection.Host, connection.Port, exception.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), timeProvider, cancellationToken);
            }
            catch (NpgsqlException exception)
            {
                throw new StorageStartupException(DescribePostgresFailure(exception, connection, options.StartupTimeout), exception);
            }
        }
    }

    private static async Task MigrateAsync(AgentDbContext db, ILogger logger, CancellationToken cancellationToken)
    {
        await db.Database.MigrateAsync(cancellationToken);
        var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).Count();
        StorageLog.SchemaReady(logger, applied);
    }

    /// <summary>
    /// Failed saves are logged at Debug: the callers retry write conflicts, and a save that
    /// fails for good reaches them, and the log, as an exception.
    /// </summary>
    private static void QuietSaveConflicts(WarningsConfigurationBuilder warnings) =>
        warnings.Log((CoreEventId.SaveChangesFailed, LogLevel.Debug));

    /// <summary>
    /// Options for the context that runs migrations. EF Core reads the migrations history table
    /// before it exists on a new database and logs that query as a failed command. Failed commands
    /// are therefore logged at Debug here, and a real failure still surfaces as the exception.
    /// </summary>
    private static DbContextOptions<TContext> MigrationOptions<TContext>(Action<DbContextOptionsBuilder<TContext>> provider)
        where TContext : DbContext
    {
        var builder = new DbContextOptionsBuilder<TContext>();
        provider(builder);
        builder.UseSnakeCaseNamingConvention();
        builder.ConfigureWarnings(warnings => warnings.Log((RelationalEventId.CommandError, LogLevel.Debug)));
        return builder.Options;
    }

    private static bool IsUnreachable(NpgsqlException exception) =>
        exception is not PostgresException && (exception.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException
            || exception.IsTransient);

    private static string DescribePostgresFailure(NpgsqlException exception, NpgsqlConnectionStringBuilder connection, TimeSpan timeout)
    {
        var target = $"PostgreSQL at {connection.Host}:{connection.Port}, database '{connection.Database}', user '{connection.Username}'";
        return exception switch
        {
            PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } =>
                $"Database '{connection.Database}' does not exist and user '{connection.Username}' may not create it. " +
                $"Create it first (createdb -O {connection.Username} {connection.Database}) or fix ConnectionStrings__Postgres.",
            PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } =>
                $"{target} rejected the credentials in ConnectionStrings__Postgres.",
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } =>
                $"Database '{connection.Database}' does not exist on {connection.Host}:{connection.Port}; create it or fix ConnectionStrings__Postgres.",
            PostgresException postgres =>
                $"{target} refused the schema migration: {postgres.SqlState} {postgres.MessageText}",
            _ =>
                $"{target} could not be reached within {timeout.TotalSeconds:0} s (setting Storage:StartupTimeout): {exception.Message} " +
                "Check that the server runs and that ConnectionStrings__Postgres names it.",
        };
    }
}

namespace AgentApi.Storage;

public static partial class StorageLog
{
    [LoggerMessage(1001, LogLevel.Warning,
        "No PostgreSQL connection string is set (ConnectionStrings__Postgres), so AgentApi runs in " +
        "single-node development mode: SQLite at '{SqlitePath}' and Hangfire's in-memory storage. " +
        "Set ConnectionStrings__Postgres for production or for more than one instance.")]
    public static partial void EmbeddedMode(ILogger logger, string sqlitePath);

    [LoggerMessage(1002, LogLevel.Information,
        "Storage is PostgreSQL: host '{Host}', database '{Database}', for both AgentApi's tables and Hangfire.")]
    public static partial void PostgresMode(ILogger logger, string? host, string? database);

    [LoggerMessage(1003, LogLevel.Information, "The database schema is up to date: {Count} migrations applied in all.")]
    public static partial void SchemaReady(ILogger logger, int count);

    [LoggerMessage(1004, LogLevel.Warning, "PostgreSQL at {Host}:{Port} does not answer yet ({Reason}); trying again in 2 s.")]
    public static partial void WaitingForPostgres(ILogger logger, string? host, int port, string reason);

    [LoggerMessage(1005, LogLevel.Critical, "AgentApi cannot start: {Reason}")]
    public static partial void CannotStart(ILogger logger, string reason, Exception exception);

    [LoggerMessage(1006, LogLevel.Warning,
        "{Service} did not stop within the host's shutdown timeout, so the host stops without waiting for it. " +
        "Work it held here is taken over when its leases run out.")]
    public static partial void StopTimedOut(ILogger logger, string service);
}

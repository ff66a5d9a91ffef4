namespace AgentApi.Storage;

/// <summary>Which storage this process runs on, decided once at start-up.</summary>
/// <param name="Mode">Embedded or PostgreSQL.</param>
/// <param name="PostgresConnectionString">The Npgsql connection string, in PostgreSQL mode only.</param>
/// <param name="SqlitePath">The SQLite database file, in embedded mode only.</param>
public sealed record StorageInfo(StorageMode Mode, string? PostgresConnectionString, string? SqlitePath);

namespace AgentApi.Storage;

public enum StorageMode
{
    /// <summary>SQLite for our tables and Hangfire's in-memory storage: one process, nothing to install.</summary>
    Embedded,

    /// <summary>PostgreSQL for both our tables and Hangfire.</summary>
    Postgres,
}

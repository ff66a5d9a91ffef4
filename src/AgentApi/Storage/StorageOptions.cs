namespace AgentApi.Storage;

/// <summary>Settings under <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    public const string DefaultDataDirectory = "./data";

    /// <summary>
    /// Folder for the embedded default's files, relative to the working directory. Defaults to
    /// <c>./data</c>. Unused when <c>ConnectionStrings:Postgres</c> is set.
    /// </summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>How long start-up waits for a PostgreSQL server that does not accept connections yet. Defaults to 30 seconds.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

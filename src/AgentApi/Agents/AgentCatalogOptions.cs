namespace AgentApi.Agents;

/// <summary>Settings under <c>Agents</c>: where the agent files are and how changes to them are picked up.</summary>
public sealed class AgentCatalogOptions
{
    public const string SectionName = "Agents";
    public const string DefaultDirectory = "agents";

    public static readonly TimeSpan DefaultReloadDelay = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan MaxReloadDelay = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MinPollInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromHours(1);

    /// <summary>
    /// The folder of <c>*.md</c> agent files, relative to the content root (the folder of
    /// appsettings.json) unless absolute. Defaults to <c>agents</c>. The folder need not exist.
    /// </summary>
    public string Directory { get; set; } = DefaultDirectory;

    /// <summary>
    /// Quiet time after the last change in the folder before the files are read again, so that one
    /// save causes one reload. From 0 to 1 minute, and 250 milliseconds by default.
    /// </summary>
    public TimeSpan ReloadDelay { get; set; } = DefaultReloadDelay;

    /// <summary>
    /// How often the folder is checked for being created or removed, and scanned for changes while
    /// it cannot be watched. From 100 milliseconds to 1 hour, and 2 seconds by default.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;
}

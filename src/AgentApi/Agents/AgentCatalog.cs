using AgentApi.Agents.Files;
using AgentApi.Agents.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents;

/// <summary>
/// The agents tasks may name: the built-in agents, plus the Markdown agent files in
/// <c>Agents:Directory</c>, where a file may replace a built-in agent of the same name. The files
/// are read when the catalog is created and again after each change to the folder. Every read
/// builds a new <see cref="AgentCatalogSnapshot"/> and swaps it in whole.
/// </summary>
public sealed class AgentCatalog : IDisposable
{
    public const string DefaultAgent = "general-purpose";
    public const string InheritModel = "inherit";

    private readonly string? _directory;
    private readonly IConfiguration? _configuration;
    private readonly ILogger _logger;
    private readonly AgentDirectoryWatcher? _watcher;
    private readonly Lock _reloadLock = new();
    private AgentCatalogSnapshot _current = new(version: 0, BuiltInAgents.All, []);
    private bool _directoryMissingLogged;

    /// <summary>Creates a catalog of the built-in agents alone, which reads no files.</summary>
    public AgentCatalog()
    {
        _logger = NullLogger.Instance;
    }

    /// <summary>Creates the catalog, reads the agent files once and starts watching their folder.</summary>
    /// <exception cref="InvalidOperationException">A setting under <c>Agents</c> is out of range.</exception>
    public AgentCatalog(
        IOptions<AgentCatalogOptions> options,
        IHostEnvironment environment,
        IConfiguration configuration,
        TimeProvider timeProvider,
        ILogger<AgentCatalog> logger)
    {
        var settings = options.Value;
        Validate(settings);
        _directory = Path.GetFullPath(settings.Directory, environment.ContentRootPath);
        _configuration = configuration;
        _logger = logger;

        _watcher = new AgentDirectoryWatcher(_directory, settings.ReloadDelay, settings.PollInterval, timeProvider, logger, Reload);
        _watcher.Start();
        Reload();
    }

    /// <summary>The current snapshot. Take it once to read the agents and the skipped files together.</summary>
    public AgentCatalogSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Every usable agent, sorted by name.</summary>
    public IEnumerable<AgentDefinition> All => Current.Agents;

    /// <summary>The agent names, sorted.</summary>
    public IEnumerable<string> Names => Current.Names;

    /// <summary>Returns the agent named <paramref name="name"/> in the current snapshot, or null.</summary>
    public AgentDefinition? Find(string name) => Current.Find(name);

    public void Dispose() => _watcher?.Dispose();

    /// <summary>
    /// Reads the agent folder now and swaps in the result. The watcher calls it after changes, and
    /// tests call it to skip the wait. Reloads run one at a time.
    /// </summary>
    internal void Reload()
    {
        if (_directory is null)
        {
            return;
        }

        lock (_reloadLock)
        {
            var previous = Current;
            var contents = AgentDirectoryLoader.Load(_directory, ModelNames());
            LogChanges(previous, contents);

            Dictionary<string, AgentDefinition> agents = BuiltInAgents.All.ToDictionary(agent => agent.Name, StringComparer.Ordinal);
            foreach (var agent in contents.Agents)
            {
                agents[agent.Name] = agent;
            }

            var next = new AgentCatalogSnapshot(previous.Version + 1, agents.Values, contents.Broken);
            Volatile.Write(ref _current, next);
            if (contents.Exists)
            {
                AgentsLog.Loaded(_logger, _directory, next.Version, contents.Agents.Count, contents.Broken.Count);
            }
        }
    }

    private static void Validate(AgentCatalogOptions options)
    {
        var section = AgentCatalogOptions.SectionName;
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            throw new InvalidOperationException(
                $"{section}:{nameof(options.Directory)} is empty; set a folder path or remove the setting to use '{AgentCatalogOptions.DefaultDirectory}'.");
        }

        if (options.ReloadDelay < TimeSpan.Zero || options.ReloadDelay > AgentCatalogOptions.MaxReloadDelay)
        {
            throw new InvalidOperationException(
                $"{section}:{nameof(options.ReloadDelay)} is {options.ReloadDelay}; use a value from 00:00:00 to {AgentCatalogOptions.MaxReloadDelay}.");
        }

        if (options.PollInterval < AgentCatalogOptions.MinPollInterval || options.PollInterval > AgentCatalogOptions.MaxPollInterval)
        {
            throw new InvalidOperationException(
                $"{section}:{nameof(options.PollInterval)} is {options.PollInterval}; use a value from {AgentCatalogOptions.MinPollInterval} to {AgentCatalogOptions.MaxPollInterval}.");
        }
    }

    /// <summary>Returns the models a file may name: every section under <c>Models</c>, and <c>Default</c>, which always exists.</summary>
    private List<string> ModelNames()
    {
        var configured = _configuration!.GetSection(ModelOptions.SectionName).GetChildren().Select(section => section.Key);
        return [.. configured.Append(ModelOptions.DefaultName).Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>Logs the folder going missing and each newly broken file once, rather than at every reload.</summary>
    private void LogChanges(AgentCatalogSnapshot previous, AgentDirectoryContents contents)
    {
        if (!contents.Exists)
        {
            if (!_directoryMissingLogged)
            {
                AgentsLog.DirectoryMissing(_logger, _directory!);
                _directoryMissingLogged = true;
            }

            return;
        }

        _directoryMissingLogged = false;
        var known = previous.Broken.ToHashSet();
        foreach (var file in contents.Broken.Where(file => !known.Contains(file)))
        {
            AgentsLog.FileSkipped(_logger, file.File, file.Reason);
        }
    }
}

using System.Text;

namespace AgentApi.Agents.Files;

/// <summary>
/// Calls back when the agent folder may have changed, after <c>reloadDelay</c> without further
/// changes. A <see cref="FileSystemWatcher"/> gives the change events. A poll every
/// <c>pollInterval</c> notices the folder being created, removed or replaced, and compares the
/// files' names, sizes and write times, so changes are still found when the folder cannot be
/// watched (for example when the inotify instance limit is reached) or an event was lost.
/// </summary>
internal sealed class AgentDirectoryWatcher : IDisposable
{
    private const string Absent = "absent";

    private readonly string _directory;
    private readonly TimeSpan _reloadDelay;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly Action _reload;
    private readonly Lock _lock = new();
    private readonly ITimer _reloadTimer;
    private readonly ITimer _pollTimer;
    private FileSystemWatcher? _watcher;
    private string? _fingerprint;
    private bool _reloadPending;
    private bool _watchFailureLogged;
    private bool _disposed;

    public AgentDirectoryWatcher(
        string directory,
        TimeSpan reloadDelay,
        TimeSpan pollInterval,
        TimeProvider timeProvider,
        ILogger logger,
        Action reload)
    {
        _directory = directory;
        _reloadDelay = reloadDelay;
        _pollInterval = pollInterval;
        _logger = logger;
        _reload = reload;
        _reloadTimer = timeProvider.CreateTimer(_ => RunReload(), state: null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pollTimer = timeProvider.CreateTimer(_ => Poll(), state: null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Whether change events arrive from a <see cref="FileSystemWatcher"/> now, rather than from polling alone.</summary>
    public bool IsWatching
    {
        get
        {
            lock (_lock)
            {
                return _watcher is not null;
            }
        }
    }

    /// <summary>Starts watching and polling. Call it before the first read, so no change after that read is missed.</summary>
    public void Start()
    {
        lock (_lock)
        {
            TryStartWatching();
            _fingerprint = Fingerprint();
        }

        _pollTimer.Change(_pollInterval, _pollInterval);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            StopWatching();
        }

        _reloadTimer.Dispose();
        _pollTimer.Dispose();
    }

    private void OnFileEvent(object sender, FileSystemEventArgs args)
    {
        if (IsAgentFile(args.Name) || (args is RenamedEventArgs renamed && IsAgentFile(renamed.OldName)))
        {
            ScheduleReload();
        }
    }

    private void OnWatcherError(object sender, ErrorEventArgs args)
    {
        // Usually an overflow of the event buffer: some changes went unreported.
        AgentsLog.WatcherError(_logger, _directory, args.GetException());
        ScheduleReload();
    }

    private void ScheduleReload()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            // Each change pushes the reload back, so a burst of writes causes one reload.
            _reloadPending = true;
            _reloadTimer.Change(_reloadDelay, Timeout.InfiniteTimeSpan);
        }
    }

    private void RunReload()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _reloadPending = false;

            // Taken before the read: a change during the read shows as a new fingerprint at the next poll.
            _fingerprint = Fingerprint();
        }

        try
        {
            _reload();
        }
        catch (Exception exception)
        {
            // An exception thrown on a timer thread would end the process. The next change tries again.
            AgentsLog.ReloadFailed(_logger, _directory, exception);
        }
    }

    private void Poll()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var startedNow = false;
            if (!Directory.Exists(_directory))
            {
                StopWatching();
            }
            else if (_watcher is null)
            {
                TryStartWatching();
                startedNow = _watcher is not null;
            }

            var fingerprint = Fingerprint();
            if (fingerprint == _fingerprint)
            {
                return;
            }

            // A change that no reload has seen. With a watcher and no reload pending, the watcher
            // missed it, for example because the folder was replaced by a new one of the same name.
            if (_watcher is not null && !_reloadPending && !startedNow)
            {
                AgentsLog.WatcherRestarted(_logger, _directory);
                StopWatching();
                TryStartWatching();
            }

            _fingerprint = fingerprint;
        }

        ScheduleReload();
    }

    /// <summary>Starts the <see cref="FileSystemWatcher"/> when the folder exists. Called under the lock.</summary>
    private void TryStartWatching()
    {
        if (_watcher is not null || !Directory.Exists(_directory))
        {
            return;
        }

        FileSystemWatcher? watcher = null;
        try
        {
            watcher = new FileSystemWatcher(_directory)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Created += OnFileEvent;
            watcher.Changed += OnFileEvent;
            watcher.Deleted += OnFileEvent;
            watcher.Renamed += OnFileEvent;
            watcher.Error += OnWatcherError;
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
            _watchFailureLogged = false;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or PlatformNotSupportedException)
        {
            // ArgumentException: the folder was removed after the check above.
            // NOTE: no test covers a watcher that fails to start, because forcing one on Linux means
            // lowering the machine-wide inotify limit. Polling then finds changes within PollInterval.
            watcher?.Dispose();
            if (!_watchFailureLogged)
            {
                AgentsLog.WatchFailed(_logger, _directory, (long)_pollInterval.TotalMilliseconds, exception);
                _watchFailureLogged = true;
            }
        }
    }

    /// <summary>Stops and drops the <see cref="FileSystemWatcher"/>. Called under the lock.</summary>
    private void StopWatching()
    {
        if (_watcher is null)
        {
            return;
        }

        _watcher.EnableRaisingEvents = false;
        _watcher.Dispose();
        _watcher = null;
    }

    /// <summary>Returns the names, sizes and write times of the agent files, or "absent" when the folder is missing.</summary>
    private string Fingerprint()
    {
        try
        {
            var files = new DirectoryInfo(_directory)
                .GetFiles(AgentDirectoryLoader.SearchPattern, AgentDirectoryLoader.FileEnumeration)
                .OrderBy(file => file.Name, StringComparer.Ordinal);
            var builder = new StringBuilder();
            foreach (var file in files)
            {
                builder.Append(file.Name).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks).Append('\n');
            }

            return builder.ToString();
        }
        catch (DirectoryNotFoundException)
        {
            return Absent;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The loader lists an unreadable folder as broken. Polling finds no change until the error changes.
            return $"unreadable: {exception.Message}";
        }
    }

    private static bool IsAgentFile(string? name) =>
        name is not null && name.EndsWith(".md", StringComparison.OrdinalIgnoreCase);
}

namespace AgentApi.Agents;

/// <summary>Log messages of the agent catalog and its file watcher, event ids 6001 to 6099.</summary>
internal static partial class AgentsLog
{
    [LoggerMessage(6001, LogLevel.Warning, "Agent file '{File}' is skipped: {Reason}.")]
    public static partial void FileSkipped(ILogger logger, string file, string reason);

    [LoggerMessage(6002, LogLevel.Information,
        "Agent files in '{Directory}' loaded as catalog version {Version}: {FileAgentCount} agents from files, {BrokenCount} files skipped.")]
    public static partial void Loaded(ILogger logger, string directory, long version, int fileAgentCount, int brokenCount);

    [LoggerMessage(6003, LogLevel.Information,
        "Agent folder '{Directory}' does not exist, so only the built-in agents are available; files are read as soon as it is created.")]
    public static partial void DirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(6004, LogLevel.Warning,
        "Watching agent folder '{Directory}' for changes failed; it is scanned every {PollIntervalMs} ms instead.")]
    public static partial void WatchFailed(ILogger logger, string directory, long pollIntervalMs, Exception exception);

    [LoggerMessage(6005, LogLevel.Error, "Reloading agent files from '{Directory}' failed; the agents loaded before stay in use.")]
    public static partial void ReloadFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(6006, LogLevel.Warning,
        "Agent folder '{Directory}' changed without a change event; its watcher is restarted and the files are read again.")]
    public static partial void WatcherRestarted(ILogger logger, string directory);

    [LoggerMessage(6007, LogLevel.Warning, "The watcher of agent folder '{Directory}' reported an error; the files are read again.")]
    public static partial void WatcherError(ILogger logger, string directory, Exception exception);
}

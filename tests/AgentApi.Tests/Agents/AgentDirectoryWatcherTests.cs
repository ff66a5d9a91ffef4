using AgentApi.Agents.Files;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Agents;

/// <summary>
/// <see cref="AgentDirectoryWatcher"/> on a real temporary folder, with the system clock and short
/// intervals. Each wait polls a condition until a 10-second deadline.
/// </summary>
public sealed class AgentDirectoryWatcherTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReloadDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly string _root = Directory.CreateTempSubdirectory("agentapi-watch-").FullName;
    private readonly LogCapture _logs = new();
    private int _reloads;

    private string Folder => Path.Combine(_root, "agents");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Watcher_FileWritten_CallsBack()
    {
        Directory.CreateDirectory(Folder);
        using var watcher = StartWatcher();
        Assert.True(watcher.IsWatching);

        await File.WriteAllTextAsync(Path.Combine(Folder, "new.md"), "text").WaitAsync(Deadline);

        await WaitUntilAsync(() => Reloads >= 1, "no reload after a file was written");
    }

    [Fact]
    public async Task Watcher_BurstOfWrites_ReloadsFewerTimesThanWrites()
    {
        Directory.CreateDirectory(Folder);
        using var watcher = StartWatcher(reloadDelay: TimeSpan.FromMilliseconds(500));
        const int Writes = 20;

        for (var i = 0; i < Writes; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(Folder, "busy.md"), $"version {i}").WaitAsync(Deadline);
        }

        await WaitUntilAsync(() => Reloads >= 1, "no reload after a burst of writes");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.True(Reloads < Writes / 2, $"{Reloads} reloads for {Writes} writes");
    }

    [Fact]
    public async Task Watcher_OtherFileWritten_DoesNotCallBack()
    {
        Directory.CreateDirectory(Folder);
        using var watcher = StartWatcher();

        await File.WriteAllTextAsync(Path.Combine(Folder, "notes.txt"), "not an agent").WaitAsync(Deadline);
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        Assert.Equal(0, Reloads);
    }

    [Fact]
    public async Task Watcher_FolderCreatedLater_StartsWatchingAndCallsBack()
    {
        using var watcher = StartWatcher();
        Assert.False(watcher.IsWatching);

        Directory.CreateDirectory(Folder);
        await File.WriteAllTextAsync(Path.Combine(Folder, "late.md"), "text").WaitAsync(Deadline);

        await WaitUntilAsync(() => Reloads >= 1, "no reload after the folder was created");
        await WaitUntilAsync(() => watcher.IsWatching, "the watcher did not start after the folder was created");
    }

    [Fact]
    public async Task Watcher_FolderRemoved_CallsBackAndStopsWatching()
    {
        Directory.CreateDirectory(Folder);
        using var watcher = StartWatcher();

        Directory.Delete(Folder);

        await WaitUntilAsync(() => Reloads >= 1, "no reload after the folder was removed");
        await WaitUntilAsync(() => !watcher.IsWatching, "the watcher still runs on a removed folder");
    }

    [Fact]
    public async Task Watcher_FolderReplaced_SeesChangesInNewFolder()
    {
        Directory.CreateDirectory(Folder);
        using var watcher = StartWatcher(pollInterval: TimeSpan.FromSeconds(1));

        // Faster than one poll, so the watcher may still be attached to the removed folder.
        Directory.Delete(Folder);
        Directory.CreateDirectory(Folder);
        await File.WriteAllTextAsync(Path.Combine(Folder, "first.md"), "text").WaitAsync(Deadline);
        await WaitUntilAsync(() => Reloads >= 1, "no reload after the folder was replaced");

        await WaitUntilAsync(() => watcher.IsWatching, "the watcher did not resume on the new folder");
        var before = Reloads;
        await File.WriteAllTextAsync(Path.Combine(Folder, "second.md"), "text").WaitAsync(Deadline);

        await WaitUntilAsync(() => Reloads > before, "no reload for a change in the new folder");
    }

    [Fact]
    public async Task Watcher_Disposed_StopsCallingBack()
    {
        Directory.CreateDirectory(Folder);
        var watcher = StartWatcher();

        watcher.Dispose();
        await File.WriteAllTextAsync(Path.Combine(Folder, "after.md"), "text").WaitAsync(Deadline);
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        Assert.Equal(0, Reloads);
        Assert.False(watcher.IsWatching);
    }

    [Fact]
    public async Task Watcher_ReloadThrows_LogsAndKeepsWatching()
    {
        Directory.CreateDirectory(Folder);
        using var watcher = StartWatcher(reload: () =>
        {
            Interlocked.Increment(ref _reloads);
            throw new InvalidOperationException("reload failed in the test");
        });

        await File.WriteAllTextAsync(Path.Combine(Folder, "one.md"), "text").WaitAsync(Deadline);
        await WaitUntilAsync(() => Reloads >= 1, "no reload after the first write");
        await File.WriteAllTextAsync(Path.Combine(Folder, "two.md"), "text").WaitAsync(Deadline);

        await WaitUntilAsync(() => Reloads >= 2, "no reload after a reload threw");
        Assert.Contains(_logs.Entries, entry => entry.EventId.Id == 6005 && entry.Exception!.Contains("reload failed in the test", StringComparison.Ordinal));
    }

    private int Reloads => Volatile.Read(ref _reloads);

    private AgentDirectoryWatcher StartWatcher(TimeSpan? reloadDelay = null, TimeSpan? pollInterval = null, Action? reload = null)
    {
        var watcher = new AgentDirectoryWatcher(
            Folder,
            reloadDelay ?? ReloadDelay,
            pollInterval ?? PollInterval,
            TimeProvider.System,
            _logs.CreateLogger("AgentDirectoryWatcher"),
            reload ?? (() => Interlocked.Increment(ref _reloads)));
        watcher.Start();
        return watcher;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = TimeProvider.System.GetUtcNow() + Deadline;
        while (!condition())
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"{failure} within {Deadline.TotalSeconds} s.");
            }

            await Task.Delay(25);
        }
    }
}

using System.Globalization;

namespace AgentApi.Processes;

/// <summary>
/// The cgroup, or on cgroup v1 one cgroup per hierarchy, created for one process run. The
/// launcher writes the child's pid into <see cref="ProcsFiles"/> before the program starts, so
/// the program and every process it starts are members from the beginning.
/// </summary>
internal sealed class CgroupRunGroup
{
    private static readonly TimeSpan PollDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>How long to keep killing members that appear, and to retry removing a group the kernel still reports busy.</summary>
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<string, bool> _removeDirectory;
    private readonly string? _cpuAccountingDirectory;
    private readonly string? _memoryDirectory;

    public CgroupRunGroup(
        int version,
        IReadOnlyList<string> directories,
        string? cpuAccountingDirectory,
        string? memoryDirectory,
        Func<string, bool> removeDirectory)
    {
        Version = version;
        Directories = directories;
        _cpuAccountingDirectory = cpuAccountingDirectory;
        _memoryDirectory = memoryDirectory;
        _removeDirectory = removeDirectory;
    }

    /// <summary>1 or 2.</summary>
    public int Version { get; }

    /// <summary>The directories created for the run, one per v1 hierarchy, or the one v2 group.</summary>
    public IReadOnlyList<string> Directories { get; }

    /// <summary>The <c>cgroup.procs</c> file of each directory.</summary>
    public IReadOnlyList<string> ProcsFiles => [.. Directories.Select(directory => Path.Join(directory, "cgroup.procs"))];

    /// <summary>
    /// Reads the CPU time the group's members used, in microseconds: <c>cpuacct.usage</c>
    /// (nanoseconds) on v1, <c>usage_usec</c> of <c>cpu.stat</c> on v2. Null when it cannot be read.
    /// </summary>
    public long? ReadCpuUsageMicroseconds()
    {
        if (_cpuAccountingDirectory is null)
        {
            return null;
        }

        return Version == 1
            ? ReadNumber(Path.Join(_cpuAccountingDirectory, "cpuacct.usage")) / 1000
            : ReadKeyedNumber(Path.Join(_cpuAccountingDirectory, "cpu.stat"), "usage_usec");
    }

    /// <summary>Reads the most memory the group used: <c>memory.max_usage_in_bytes</c> on v1, <c>memory.peak</c> on v2 (Linux 5.19 and later).</summary>
    public long? ReadMemoryPeakBytes() =>
        _memoryDirectory is null
            ? null
            : ReadNumber(Path.Join(_memoryDirectory, Version == 1 ? "memory.max_usage_in_bytes" : "memory.peak"));

    /// <summary>
    /// Reads how many members the kernel killed for going over the memory limit: <c>oom_kill</c> of
    /// <c>memory.events</c> on v2, of <c>memory.oom_control</c> on v1 (Linux 4.13 and later).
    /// Null when it cannot be read.
    /// </summary>
    public long? ReadOomKills()
    {
        if (_memoryDirectory is null)
        {
            return null;
        }

        return Version == 1
            ? ReadKeyedNumber(Path.Join(_memoryDirectory, "memory.oom_control"), "oom_kill")
            : ReadKeyedNumber(Path.Join(_memoryDirectory, "memory.events"), "oom_kill");
    }

    /// <summary>Reads the v1 <c>memory.failcnt</c>: how often the group hit its memory limit. Null on v2.</summary>
    public long? ReadMemoryFailCount() =>
        Version == 1 && _memoryDirectory is not null ? ReadNumber(Path.Join(_memoryDirectory, "memory.failcnt")) : null;

    /// <summary>Returns the pids now in the group, from every <c>cgroup.procs</c> file.</summary>
    public IReadOnlySet<int> ReadMembers()
    {
        HashSet<int> pids = [];
        foreach (var file in ProcsFiles)
        {
            foreach (var line in ReadLines(file))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    pids.Add(pid);
                }
            }
        }

        return pids;
    }

    /// <summary>
    /// Kills every member until none is left: with <c>cgroup.kill</c> on v2 where the kernel has
    /// it (Linux 5.14 and later), else with SIGKILL to each pid in <c>cgroup.procs</c>, again
    /// while members that were forking keep appearing. Returns whether the group ended empty.
    /// </summary>
    public async Task<bool> KillMembersAsync(TimeProvider timeProvider)
    {
        var killFile = Version == 2 ? Path.Join(Directories[0], "cgroup.kill") : null;
        var started = timeProvider.GetTimestamp();
        while (true)
        {
            var members = ReadMembers();
            if (members.Count == 0)
            {
                return true;
            }

            if (timeProvider.GetElapsedTime(started) > CleanupTimeout)
            {
                return false;
            }

            if (killFile is null || !TryWrite(killFile, "1"))
            {
                foreach (var pid in members)
                {
                    NativeSignals.KillProcess(pid);
                }
            }

            await Task.Delay(PollDelay, timeProvider);
        }
    }

    /// <summary>Removes the directories; returns the ones that could not be removed, each with the reason.</summary>
    public async Task<IReadOnlyList<(string Directory, string Reason)>> RemoveAsync(TimeProvider timeProvider)
    {
        List<(string Directory, string Reason)> failures = [];
        foreach (var directory in Directories)
        {
            var started = timeProvider.GetTimestamp();
            while (true)
            {
                try
                {
                    if (!Directory.Exists(directory) || _removeDirectory(directory))
                    {
                        break;
                    }
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // The kernel reports a cgroup busy for a moment after its last member exits.
                    if (timeProvider.GetElapsedTime(started) > CleanupTimeout)
                    {
                        failures.Add((directory, exception.Message));
                        break;
                    }
                }

                await Task.Delay(PollDelay, timeProvider);
            }
        }

        return failures;
    }

    internal static bool TryWrite(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static long? ReadNumber(string path) =>
        ReadLines(path).FirstOrDefault() is { } line
        && long.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>Reads the number after <paramref name="key"/> in a file of <c>key value</c> lines.</summary>
    private static long? ReadKeyedNumber(string path, string key)
    {
        foreach (var line in ReadLines(path))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 2 && fields[0] == key
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }
}

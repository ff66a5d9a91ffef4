using System.Globalization;

namespace AgentApi.Processes;

/// <summary>
/// Reads the limits of the process's own cgroup from <c>/proc/self/cgroup</c>,
/// <c>/proc/self/mountinfo</c> and the cgroup files under the mount points, all below a root
/// directory (<c>/</c> in the service, a fixture tree in tests). Supports cgroup v1, v2 and hybrid
/// hosts. A missing, unreadable or malformed file gives a null value, never an exception.
/// </summary>
/// <remarks>
/// NOTE: only the process's own cgroup is read. A limit set on a parent cgroup alone, such as a
/// memory limit on a systemd slice, is in force but not reported. Only the cpuset, through
/// <c>cpuset.cpus.effective</c> on v2, includes what the parents allow.
/// </remarks>
public sealed class CgroupReader
{
    /// <summary>
    /// cgroup v1 reports "no memory limit" as the largest 64-bit value rounded down to the page size
    /// (9223372036854771712 with 4 KiB pages). Every value from this one up, the largest value
    /// rounded down to 1 MiB, counts as not limited, which covers page sizes up to 1 MiB.
    /// </summary>
    private const long Version1UnlimitedMemoryFloor = long.MaxValue & ~((1L << 20) - 1);

    private readonly KernelFileReader _files;
    private readonly CgroupLocator _locator;

    /// <param name="rootDirectory">The directory read as <c>/</c>: <c>/</c> itself, or a fixture tree.</param>
    /// <param name="logger">Receives one warning per file that exists but cannot be read or parsed.</param>
    public CgroupReader(string rootDirectory, ILogger logger)
    {
        _files = new KernelFileReader(rootDirectory, logger);
        _locator = new CgroupLocator(_files);
    }

    /// <summary>Reads the cgroup limits now, or returns <see cref="CgroupResources.None"/> when the process has no cgroup.</summary>
    public CgroupResources Read()
    {
        return _locator.Locate() switch
        {
            { Version: 1 } location => ReadVersion1(location),
            { Version: 2, Version2Directory: { } directory } => ReadVersion2(directory),
            _ => CgroupResources.None,
        };
    }

    private CgroupResources ReadVersion2(string directory)
    {
        var (quota, period) = ReadCpuMax(FileIn(directory, "cpu.max"));
        var cpuset = ReadCpuset(FileIn(directory, "cpuset.cpus.effective")) ?? ReadCpuset(FileIn(directory, "cpuset.cpus"));

        return new CgroupResources(
            Version: 2,
            new CgroupCpuResources(quota, period, Shares: null, Weight: ReadNumber(FileIn(directory, "cpu.weight"))),
            cpuset,
            new CgroupMemoryResources(ReadLimit(FileIn(directory, "memory.max")), ReadNumber(FileIn(directory, "memory.current"))),
            new CgroupPidsResources(ReadLimit(FileIn(directory, "pids.max"))));
    }

    private CgroupResources ReadVersion1(CgroupLocation location)
    {
        var cpu = location.Version1Directory(CgroupLocator.CpuController);
        var cpuset = location.Version1Directory(CgroupLocator.CpusetController);
        var memory = location.Version1Directory(CgroupLocator.MemoryController);
        var pids = location.Version1Directory(CgroupLocator.PidsController);

        // cpu.cfs_quota_us is -1 when not limited.
        var quota = ReadNumber(FileIn(cpu, "cpu.cfs_quota_us"));
        var memoryLimit = ReadNumber(FileIn(memory, "memory.limit_in_bytes"));

        return new CgroupResources(
            Version: 1,
            new CgroupCpuResources(
                QuotaUs: quota < 0 ? null : quota,
                PeriodUs: ReadNumber(FileIn(cpu, "cpu.cfs_period_us")),
                Shares: ReadNumber(FileIn(cpu, "cpu.shares")),
                Weight: null),
            ReadCpuset(FileIn(cpuset, "cpuset.cpus")),
            new CgroupMemoryResources(
                LimitBytes: memoryLimit >= Version1UnlimitedMemoryFloor ? null : memoryLimit,
                UsageBytes: ReadNumber(FileIn(memory, "memory.usage_in_bytes"))),
            new CgroupPidsResources(ReadLimit(FileIn(pids, "pids.max"))));
    }

    /// <summary>Returns the path of <paramref name="file"/> in <paramref name="directory"/>, or null when the process has no such cgroup.</summary>
    private static string? FileIn(string? directory, string file) => directory is null ? null : directory + "/" + file;

    /// <summary>Reads v2 <c>cpu.max</c>: <c>quota period</c>, where the quota is <c>max</c> when not limited.</summary>
    private (long? Quota, long? Period) ReadCpuMax(string? path)
    {
        if (path is null || _files.ReadText(path) is not { } text)
        {
            return (null, null);
        }

        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        long quota = 0;
        if (fields.Length != 2
            || !TryParseNumber(fields[1], out var period)
            || (fields[0] != "max" && !TryParseNumber(fields[0], out quota)))
        {
            _files.ReportInvalid(path, text, "\"quota period\" pair");
            return (null, null);
        }

        return (fields[0] == "max" ? null : quota, period);
    }

    /// <summary>Reads a file with one whole number.</summary>
    private long? ReadNumber(string? path)
    {
        if (path is null || _files.ReadText(path) is not { } text)
        {
            return null;
        }

        if (!TryParseNumber(text.Trim(), out var value))
        {
            _files.ReportInvalid(path, text, "whole number");
            return null;
        }

        return value;
    }

    /// <summary>Reads a file with a whole number or <c>max</c>, which is not limited and reads as null.</summary>
    private long? ReadLimit(string? path)
    {
        if (path is null || _files.ReadText(path) is not { } text)
        {
            return null;
        }

        var trimmed = text.Trim();
        if (trimmed == "max")
        {
            return null;
        }

        if (!TryParseNumber(trimmed, out var value))
        {
            _files.ReportInvalid(path, text, "whole number or \"max\"");
            return null;
        }

        return value;
    }

    /// <summary>Reads a CPU list. An empty one, which v2 writes when the cgroup sets no cpuset, reads as null.</summary>
    private string? ReadCpuset(string? path)
    {
        if (path is null || _files.ReadText(path) is not { } text)
        {
            return null;
        }

        var trimmed = text.Trim();
        if (!CpuAffinity.TryParseList(trimmed, out _))
        {
            _files.ReportInvalid(path, text, "CPU list");
            return null;
        }

        return trimmed.Length == 0 ? null : trimmed;
    }

    private static bool TryParseNumber(string text, out long value)
    {
        var parsed = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number);
        value = number;
        return parsed;
    }
}

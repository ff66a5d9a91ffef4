using System.Globalization;

namespace AgentApi.Processes;

/// <summary>
/// Creates a cgroup for each process run beneath the service's own cgroup, on cgroup v1 or v2,
/// and sets the run's limits in it. Nothing is written to the service's own group except, on
/// v2, <c>cgroup.subtree_control</c> to pass the needed controllers down. All paths are below a
/// root directory: <c>/</c> in the service, a fixture tree in tests.
/// </summary>
public sealed partial class ProcessCgroups
{
    /// <summary>The start of the name of every group created for a run.</summary>
    public const string GroupPrefix = "agentapi-run-";

    /// <summary>
    /// The v2 leaf the service moves itself into when its own group has processes, because v2
    /// passes controllers only to the children of a group without processes of its own.
    /// </summary>
    public const string ServiceLeafName = "agentapi-service";

    /// <summary>The CFS period written with a CPU quota: 100 ms, the kernel's default.</summary>
    public const long CpuPeriodMicroseconds = 100_000;

    /// <summary>The smallest quota the kernel accepts per period, 1 ms.</summary>
    private const long MinCpuQuotaMicroseconds = 1_000;

    private readonly KernelFileReader _files;
    private readonly CgroupLocator _locator;
    private readonly Func<string, bool> _removeDirectory;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();
    private CgroupLocation? _location;
    private bool _located;

    /// <param name="rootDirectory">The directory read as <c>/</c>.</param>
    /// <param name="logger">Receives the warnings about files that cannot be read.</param>
    /// <param name="removeDirectory">
    /// Removes an empty group's directory; by default <c>rmdir</c>. Tests on fixture trees pass a
    /// recursive delete, because there the kernel's interface files are ordinary files.
    /// </param>
    public ProcessCgroups(string rootDirectory, ILogger logger, Func<string, bool>? removeDirectory = null)
    {
        _files = new KernelFileReader(rootDirectory, logger);
        _locator = new CgroupLocator(_files);
        _logger = logger;
        _removeDirectory = removeDirectory ?? RemoveEmptyDirectory;
    }

    /// <summary>The cgroup version runs get, or null when the service has no cgroup.</summary>
    public int? Version => Locate()?.Version;

    /// <summary>Creates the groups for a run named <paramref name="name"/> and sets <paramref name="limits"/>, with <paramref name="cpus"/> as the CPU list.</summary>
    internal CgroupSetup Create(string name, ProcessLimits limits, string? cpus)
    {
        var location = Locate();
        if (location is null)
        {
            return new CgroupSetup(null, new Dictionary<string, string>(), new Dictionary<string, string>(),
                "the service's cgroup was not found in /proc/self/cgroup and /proc/self/mountinfo");
        }

        return location.Version == 1
            ? CreateVersion1(location, name, limits, cpus)
            : CreateVersion2(location.Version2Directory!, name, limits, cpus);
    }

    private CgroupLocation? Locate()
    {
        lock (_sync)
        {
            // Once: on v2 the service may move itself into a leaf below the group found first.
            if (!_located)
            {
                _location = _locator.Locate();
                _located = true;
            }

            return _location;
        }
    }

    private static bool RemoveEmptyDirectory(string path)
    {
        Directory.Delete(path, recursive: false);
        return true;
    }

    /// <summary>Creates <paramref name="path"/>; returns null, or why it failed.</summary>
    private static string? TryCreateDirectory(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"creating the cgroup '{path}' failed: {exception.Message}";
        }
    }

    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/>; returns null, or why it failed.</summary>
    private static string? TryWrite(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"writing '{value}' to '{path}' failed: {exception.Message}";
        }
    }

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string QuotaMicroseconds(double cores) =>
        Math.Max(MinCpuQuotaMicroseconds, (long)Math.Round(cores * CpuPeriodMicroseconds)).ToString(CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}

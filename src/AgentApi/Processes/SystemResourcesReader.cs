namespace AgentApi.Processes;

/// <summary>
/// Reads <see cref="SystemResources"/> from the files below a root directory: <c>/</c> in the
/// service, a fixture tree in tests. Every call reads the files again, so the memory usage is current.
/// </summary>
public sealed class SystemResourcesReader : ISystemResourcesReader
{
    private readonly KernelFileReader _files;
    private readonly CgroupReader _cgroups;

    /// <param name="rootDirectory">The directory read as <c>/</c>.</param>
    /// <param name="logger">Receives one warning per file that exists but cannot be read or parsed.</param>
    public SystemResourcesReader(string rootDirectory, ILogger logger)
    {
        _files = new KernelFileReader(rootDirectory, logger);
        _cgroups = new CgroupReader(rootDirectory, logger);
    }

    public SystemResources Read() => new(Environment.ProcessorCount, ReadAffinity(), _cgroups.Read());

    private IReadOnlyList<int>? ReadAffinity()
    {
        const string StatusPath = "/proc/self/status";
        if (_files.ReadText(StatusPath) is not { } status)
        {
            return null;
        }

        var affinity = CpuAffinity.ParseStatus(status);
        if (affinity is null)
        {
            _files.ReportInvalid(StatusPath, status, "status file with a Cpus_allowed_list line");
        }

        return affinity;
    }
}

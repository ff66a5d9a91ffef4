namespace AgentApi.Processes;

/// <summary>Where the process's own cgroup is: absolute paths inside the reader's root directory.</summary>
/// <param name="Version">1 or 2.</param>
/// <param name="Version2Directory">The cgroup's directory in the unified hierarchy, set for version 2.</param>
/// <param name="Version1Directories">For version 1, the cgroup's directory in the hierarchy of each controller that is mounted.</param>
internal sealed record CgroupLocation(int Version, string? Version2Directory, IReadOnlyDictionary<string, string> Version1Directories)
{
    public string? Version1Directory(string controller) => Version1Directories.GetValueOrDefault(controller);
}

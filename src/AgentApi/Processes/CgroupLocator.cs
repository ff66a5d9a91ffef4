namespace AgentApi.Processes;

/// <summary>
/// Finds the directories of the process's own cgroup from <c>/proc/self/cgroup</c> and
/// <c>/proc/self/mountinfo</c>, below the root directory of a <see cref="KernelFileReader"/>.
/// </summary>
internal sealed class CgroupLocator(KernelFileReader files)
{
    public const string CpuController = "cpu";
    public const string CpuAccountingController = "cpuacct";
    public const string CpusetController = "cpuset";
    public const string MemoryController = "memory";
    public const string PidsController = "pids";

    private static readonly string[] ResourceControllers = [CpuController, CpusetController, MemoryController, PidsController];

    private static readonly string[] Version1Controllers =
        [CpuController, CpuAccountingController, CpusetController, MemoryController, PidsController];

    private readonly KernelFileReader _files = files;

    /// <summary>Returns where the process's cgroup is, or null when it has none or the files cannot be read.</summary>
    public CgroupLocation? Locate()
    {
        var membershipLines = _files.ReadLines("/proc/self/cgroup");
        var mountLines = _files.ReadLines("/proc/self/mountinfo");
        if (membershipLines is null || mountLines is null)
        {
            return null;
        }

        var memberships = CgroupMembership.ParseAll(membershipLines);
        var mounts = MountInfoEntry.ParseAll(mountLines);

        // A hybrid host mounts the resource controllers as v1 and an empty v2 tree beside them,
        // so any v1 hierarchy with a resource controller decides for v1.
        if (mounts.Any(mount => mount.IsCgroupVersion1 && ResourceControllers.Any(mount.SuperOptions.Contains)))
        {
            Dictionary<string, string> directories = new(StringComparer.Ordinal);
            foreach (var controller in Version1Controllers)
            {
                if (FindVersion1Directory(controller, memberships, mounts) is { } directory)
                {
                    directories[controller] = directory;
                }
            }

            return new CgroupLocation(1, null, directories);
        }

        var unified = memberships.FirstOrDefault(membership => membership.IsUnified);
        var unifiedMounts = mounts.Where(mount => mount.IsCgroupVersion2).ToList();
        if (unified is null || unifiedMounts.Count == 0)
        {
            return null;
        }

        return new CgroupLocation(2, ResolveDirectory(unifiedMounts, unified.Path), new Dictionary<string, string>());
    }

    /// <summary>Finds the directory of the process's cgroup in the v1 hierarchy of <paramref name="controller"/>, or null when it has none.</summary>
    private string? FindVersion1Directory(string controller, IReadOnlyList<CgroupMembership> memberships, IReadOnlyList<MountInfoEntry> mounts)
    {
        var membership = memberships.FirstOrDefault(membership => membership.Controllers.Contains(controller));
        var candidates = mounts.Where(mount => mount.IsCgroupVersion1 && mount.SuperOptions.Contains(controller)).ToList();
        return membership is null || candidates.Count == 0 ? null : ResolveDirectory(candidates, membership.Path);
    }

    /// <summary>
    /// Maps the cgroup path from <c>/proc/self/cgroup</c> to a directory under a mount point of its
    /// hierarchy, as an absolute path inside the root.
    /// </summary>
    /// <remarks>
    /// In a container the hierarchy's root is often the container's own cgroup: <c>/proc/self/cgroup</c>
    /// names <c>/docker/abc</c> and the mount's root field is <c>/docker/abc</c>, so the mount point
    /// itself is the cgroup. Where the joined path does not exist, as when the container runtime
    /// mounts the cgroup without saying so in the root field, the mount point is the best guess.
    /// </remarks>
    private string ResolveDirectory(IReadOnlyList<MountInfoEntry> candidates, string cgroupPath)
    {
        // Of several mounts of one hierarchy, the one whose root contains the cgroup, deepest first.
        var mount = candidates
            .Where(candidate => IsSameOrBelow(cgroupPath, candidate.Root))
            .OrderByDescending(candidate => candidate.Root.Length)
            .FirstOrDefault() ?? candidates[0];

        var relative = IsSameOrBelow(cgroupPath, mount.Root) ? cgroupPath[mount.Root.TrimEnd('/').Length..] : cgroupPath;
        var segments = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var mountPoint = mount.MountPoint.TrimEnd('/');

        // A process outside the root of its cgroup namespace gets "/.." paths, which must not lead out of the mount.
        if (segments.Length == 0 || segments.Any(segment => segment is "." or ".."))
        {
            return mountPoint;
        }

        var joined = mountPoint + "/" + string.Join('/', segments);
        return _files.DirectoryExists(joined) ? joined : mountPoint;
    }

    private static bool IsSameOrBelow(string path, string root) =>
        root == "/" || path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);
}

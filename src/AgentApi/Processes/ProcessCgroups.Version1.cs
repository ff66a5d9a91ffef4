namespace AgentApi.Processes;

public sealed partial class ProcessCgroups
{
    /// <summary>
    /// Creates one group per v1 hierarchy (hierarchies that share a mount, such as
    /// <c>cpu,cpuacct</c>, share the group). The cpuset group gets its parent's memory nodes,
    /// without which the kernel rejects members, and the CPU list or the parent's CPUs.
    /// </summary>
    private CgroupSetup CreateVersion1(CgroupLocation location, string name, ProcessLimits limits, string? cpus)
    {
        Dictionary<string, string> applied = new(StringComparer.Ordinal);
        Dictionary<string, string> notApplied = new(StringComparer.Ordinal);
        Dictionary<string, string> created = new(StringComparer.Ordinal);
        Dictionary<string, string> failedHierarchies = new(StringComparer.Ordinal);

        foreach (var own in location.Version1Directories.Values.Distinct(StringComparer.Ordinal))
        {
            var child = Path.Join(_files.Resolve(own), name);
            if (TryCreateDirectory(child) is { } failure)
            {
                failedHierarchies[own] = failure;
            }
            else
            {
                created[own] = child;
            }
        }

        string? GroupOf(string controller, string limit, bool requested)
        {
            if (location.Version1Directory(controller) is not { } own)
            {
                if (requested)
                {
                    notApplied[limit] = $"the cgroup v1 '{controller}' controller is not mounted";
                }

                return null;
            }

            if (created.TryGetValue(own, out var child))
            {
                return child;
            }

            if (requested)
            {
                notApplied[limit] = failedHierarchies[own];
            }

            return null;
        }

        // A cpuset group without CPUs or memory nodes takes no members, so it is removed when either write fails.
        if (GroupOf(CgroupLocator.CpusetController, "cpus", cpus is not null) is { } cpuset)
        {
            var parent = _files.Resolve(location.Version1Directory(CgroupLocator.CpusetController)!);
            var mems = ReadTrimmed(Path.Join(parent, "cpuset.mems"));
            var cpuList = cpus ?? ReadTrimmed(Path.Join(parent, "cpuset.cpus"));
            var failure = mems is null || cpuList is null
                ? $"reading cpuset.cpus and cpuset.mems of '{parent}' failed"
                : TryWrite(Path.Join(cpuset, "cpuset.mems"), mems) ?? TryWrite(Path.Join(cpuset, "cpuset.cpus"), cpuList);
            if (failure is null)
            {
                if (cpus is not null)
                {
                    applied["cpus"] = "cgroup v1 cpuset.cpus";
                }
            }
            else
            {
                if (cpus is not null)
                {
                    notApplied["cpus"] = failure;
                }

                created.Remove(location.Version1Directory(CgroupLocator.CpusetController)!);
                TryRemove(cpuset);
            }
        }

        if (limits.CpuQuota is { } quota && GroupOf(CgroupLocator.CpuController, "cpuQuota", requested: true) is { } cpu)
        {
            Record("cpuQuota", "cgroup v1 cpu.cfs_quota_us",
                TryWrite(Path.Join(cpu, "cpu.cfs_period_us"), Number(CpuPeriodMicroseconds))
                ?? TryWrite(Path.Join(cpu, "cpu.cfs_quota_us"), QuotaMicroseconds(quota)));
        }

        var memory = GroupOf(CgroupLocator.MemoryController, "memoryLimit", limits.MemoryLimitBytes is not null);
        if (limits.MemoryLimitBytes is { } memoryLimit && memory is not null)
        {
            // The swap limit, where the kernel accounts swap, equals the memory limit, so the
            // program is killed at the limit instead of swapping past it.
            var swapFile = Path.Join(memory, "memory.memsw.limit_in_bytes");
            var failure = TryWrite(Path.Join(memory, "memory.limit_in_bytes"), Number(memoryLimit));
            var method = "cgroup v1 memory.limit_in_bytes";
            if (failure is null && File.Exists(swapFile))
            {
                failure = TryWrite(swapFile, Number(memoryLimit));
                method += " and memory.memsw.limit_in_bytes";
            }

            Record("memoryLimit", method, failure);
        }

        if (limits.PidsLimit is { } pidsLimit && GroupOf(CgroupLocator.PidsController, "pidsLimit", requested: true) is { } pids)
        {
            Record("pidsLimit", "cgroup v1 pids.max", TryWrite(Path.Join(pids, "pids.max"), Number(pidsLimit)));
        }

        if (created.Count == 0)
        {
            var reason = failedHierarchies.Values.FirstOrDefault() ?? "no cgroup v1 hierarchy with a resource controller is mounted";
            return new CgroupSetup(null, applied, notApplied, reason);
        }

        var accounting = GroupOf(CgroupLocator.CpuAccountingController, "cpuacct", requested: false);
        var group = new CgroupRunGroup(1, [.. created.Values], accounting, memory, _removeDirectory);
        return new CgroupSetup(group, applied, notApplied, null);

        void Record(string limit, string method, string? failure)
        {
            if (failure is null)
            {
                applied[limit] = method;
            }
            else
            {
                notApplied[limit] = failure;
            }
        }
    }

    private void TryRemove(string directory)
    {
        try
        {
            _removeDirectory(directory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            ProcessesLog.CgroupNotRemoved(_logger, directory, exception.Message);
        }
    }
}

namespace AgentApi.Processes;

public sealed partial class ProcessCgroups
{
    private bool _movedIntoLeaf;

    /// <summary>
    /// Creates the run's group below the service's own v2 group, after enabling in the own
    /// group's <c>cgroup.subtree_control</c> the controllers the requested limits need.
    /// </summary>
    private CgroupSetup CreateVersion2(string ownDirectory, string name, ProcessLimits limits, string? cpus)
    {
        Dictionary<string, string> applied = new(StringComparer.Ordinal);
        Dictionary<string, string> notApplied = new(StringComparer.Ordinal);
        var own = _files.Resolve(ownDirectory);

        List<(string Limit, string Controller)> needed = [];
        if (cpus is not null)
        {
            needed.Add(("cpus", CgroupLocator.CpusetController));
        }

        if (limits.CpuQuota is not null)
        {
            needed.Add(("cpuQuota", CgroupLocator.CpuController));
        }

        if (limits.MemoryLimitBytes is not null)
        {
            needed.Add(("memoryLimit", CgroupLocator.MemoryController));
        }

        if (limits.PidsLimit is not null)
        {
            needed.Add(("pidsLimit", CgroupLocator.PidsController));
        }

        var enabled = EnableControllers(own, [.. needed.Select(item => item.Controller)]);
        foreach (var (limit, controller) in needed)
        {
            if (enabled.GetValueOrDefault(controller) is { } failure)
            {
                notApplied[limit] = failure;
            }
        }

        var group = Path.Join(own, name);
        if (TryCreateDirectory(group) is { } createFailure)
        {
            foreach (var (limit, _) in needed)
            {
                notApplied[limit] = createFailure;
            }

            return new CgroupSetup(null, applied, notApplied, createFailure);
        }

        void Set(string limit, string file, string value, string? extraFile = null, string? extraValue = null)
        {
            if (notApplied.ContainsKey(limit))
            {
                return;
            }

            var failure = TryWrite(Path.Join(group, file), value);
            var method = $"cgroup v2 {file}";
            if (failure is null && extraFile is not null && File.Exists(Path.Join(group, extraFile)))
            {
                failure = TryWrite(Path.Join(group, extraFile), extraValue!);
                method += $" and {extraFile}";
            }

            if (failure is null)
            {
                applied[limit] = method;
            }
            else
            {
                notApplied[limit] = failure;
            }
        }

        if (cpus is not null)
        {
            Set("cpus", "cpuset.cpus", cpus);
        }

        if (limits.CpuQuota is { } quota)
        {
            Set("cpuQuota", "cpu.max", $"{QuotaMicroseconds(quota)} {Number(CpuPeriodMicroseconds)}");
        }

        if (limits.MemoryLimitBytes is { } memoryLimit)
        {
            // No swap, so the program is killed at the limit instead of swapping past it.
            Set("memoryLimit", "memory.max", Number(memoryLimit), "memory.swap.max", "0");
        }

        if (limits.PidsLimit is { } pidsLimit)
        {
            Set("pidsLimit", "pids.max", Number(pidsLimit));
        }

        var runGroup = new CgroupRunGroup(2, [group], group, group, _removeDirectory);
        return new CgroupSetup(runGroup, applied, notApplied, null);
    }

    /// <summary>
    /// Enables <paramref name="controllers"/> in the own group's <c>cgroup.subtree_control</c>
    /// where they are not yet. Returns, for each controller that stays unavailable, the reason.
    /// </summary>
    private Dictionary<string, string?> EnableControllers(string own, IReadOnlyList<string> controllers)
    {
        Dictionary<string, string?> result = new(StringComparer.Ordinal);
        var subtreeControlFile = Path.Join(own, "cgroup.subtree_control");
        var available = (ReadTrimmed(Path.Join(own, "cgroup.controllers")) ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        List<string> missing = [];
        lock (_sync)
        {
            var active = (ReadTrimmed(subtreeControlFile) ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var controller in controllers.Distinct(StringComparer.Ordinal))
            {
                if (active.Contains(controller))
                {
                    continue;
                }

                if (!available.Contains(controller))
                {
                    result[controller] = $"the cgroup v2 '{controller}' controller is not available in '{own}' (cgroup.controllers lists '{string.Join(' ', available)}')";
                    continue;
                }

                missing.Add(controller);
            }

            if (missing.Count == 0)
            {
                return result;
            }

            // One write for all of them: the kernel enables all or none.
            var change = string.Join(' ', missing.Select(controller => "+" + controller));
            var failure = TryWrite(subtreeControlFile, change);
            if (failure is not null && !_movedIntoLeaf && MoveIntoLeaf(own) is null)
            {
                failure = TryWrite(subtreeControlFile, change);
            }

            if (failure is not null)
            {
                failure += "; a cgroup v2 group with processes of its own cannot pass controllers to its children, "
                    + "so run the service in a delegated group (for example systemd's Delegate=yes)";
            }

            foreach (var controller in missing)
            {
                result[controller] = failure;
            }
        }

        return result;
    }

    /// <summary>
    /// Moves the service into <see cref="ServiceLeafName"/> below its own group, so the own group
    /// has no processes and may pass controllers to the run groups. Returns null, or why it failed.
    /// </summary>
    private string? MoveIntoLeaf(string own)
    {
        var leaf = Path.Join(own, ServiceLeafName);
        var failure = TryCreateDirectory(leaf) ?? TryWrite(Path.Join(leaf, "cgroup.procs"), Number(Environment.ProcessId));
        if (failure is null)
        {
            _movedIntoLeaf = true;
            ProcessesLog.MovedIntoLeaf(_logger, leaf);
        }

        return failure;
    }
}

namespace AgentApi.Processes;

/// <summary>One line of <c>/proc/self/cgroup</c>: <c>hierarchy-id:controllers:path</c>.</summary>
/// <param name="HierarchyId">0 for the unified cgroup v2 hierarchy, else the v1 hierarchy's number.</param>
/// <param name="Controllers">The v1 hierarchy's controllers, such as <c>cpu</c> and <c>cpuacct</c>, or none for v2.</param>
/// <param name="Path">The process's cgroup, relative to the hierarchy's root in the process's cgroup namespace.</param>
internal sealed record CgroupMembership(string HierarchyId, IReadOnlyList<string> Controllers, string Path)
{
    /// <summary>Parses the lines of <c>/proc/self/cgroup</c> and skips malformed ones.</summary>
    public static IReadOnlyList<CgroupMembership> ParseAll(IEnumerable<string> lines)
    {
        List<CgroupMembership> memberships = [];
        foreach (var line in lines)
        {
            // The path may itself contain ':', so only the first two separate fields.
            var fields = line.Split(':', 3);
            if (fields.Length == 3 && fields[2].StartsWith('/'))
            {
                var controllers = fields[1].Split(',', StringSplitOptions.RemoveEmptyEntries);
                memberships.Add(new CgroupMembership(fields[0], controllers, fields[2]));
            }
        }

        return memberships;
    }

    public bool IsUnified => HierarchyId == "0" && Controllers.Count == 0;
}

namespace AgentApi.Processes;

/// <summary>The cgroups created for one run, and which limits they put in force.</summary>
/// <param name="Group">The created group, or null when none could be created.</param>
/// <param name="Applied">For each limit key in force through the group, the files that set it.</param>
/// <param name="NotApplied">For each requested limit key the group could not set, the reason.</param>
/// <param name="Unavailable">Why no group could be created; null when <paramref name="Group"/> is set.</param>
internal sealed record CgroupSetup(
    CgroupRunGroup? Group,
    IReadOnlyDictionary<string, string> Applied,
    IReadOnlyDictionary<string, string> NotApplied,
    string? Unavailable);

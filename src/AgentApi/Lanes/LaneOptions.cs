namespace AgentApi.Lanes;

/// <summary>Settings of one lane, under <c>Lanes:&lt;name&gt;</c>.</summary>
public sealed class LaneOptions
{
    public const string SectionName = "Lanes";

    /// <summary>Work items of this lane that may run at once; 0 pauses the lane.</summary>
    public int? MaxConcurrent { get; set; }

    /// <summary>
    /// CPUs, in the kernel's CPU list format such as <c>0-1</c>, that every process agent started
    /// for work in this lane is pinned to; null leaves the agents' own lists alone.
    /// </summary>
    public string? Cpus { get; set; }
}

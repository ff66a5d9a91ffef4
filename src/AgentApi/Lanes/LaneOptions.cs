namespace AgentApi.Lanes;

/// <summary>Settings of one lane, under <c>Lanes:&lt;name&gt;</c>.</summary>
public sealed class LaneOptions
{
    public const string SectionName = "Lanes";

    /// <summary>Work items of this lane that may run at once; 0 pauses the lane.</summary>
    public int? MaxConcurrent { get; set; }
}

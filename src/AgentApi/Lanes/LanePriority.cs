namespace AgentApi.Lanes;

/// <summary>Order of work inside a lane; a lower value is taken first.</summary>
public enum LanePriority
{
    High = 0,
    Default = 1,
    Low = 2,
}

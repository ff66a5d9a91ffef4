namespace AgentApi.Lanes;

/// <summary>Why a work item left its lane without starting.</summary>
public enum LaneRemovalReason
{
    /// <summary>The item's cancellation token fired: a cancel request or its deadline.</summary>
    Cancelled,

    /// <summary>The dispatcher stopped; the item should be run again by the next process.</summary>
    Shutdown,
}

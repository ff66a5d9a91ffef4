namespace AgentApi.Events;

/// <summary>How a hub connection receives every task's events: the hub method it called.</summary>
public enum AllEventsMode
{
    /// <summary><c>SubscribeAll</c>: one <c>taskEvent</c> invocation per event.</summary>
    PerEvent,

    /// <summary><c>SubscribeAllBatched</c>: <c>taskEvents</c> invocations, each with an array of events.</summary>
    Batched,
}

namespace AgentApi.Dashboard;

/// <summary>Jobs waiting on one Hangfire queue.</summary>
/// <param name="Name">The queue: <c>high</c>, <c>default</c> or <c>low</c>.</param>
/// <param name="Enqueued">Jobs on the queue that no worker has taken yet.</param>
public sealed record QueueDepth(string Name, long Enqueued);

namespace AgentApi.Dashboard;

/// <summary>What the overview refreshes on a timer: the queue depths and the tasks per minute.</summary>
public sealed record DashboardActivity(IReadOnlyList<QueueDepth> Queues, TaskActivity Tasks);

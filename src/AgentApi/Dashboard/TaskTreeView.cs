namespace AgentApi.Dashboard;

/// <summary>A task tree to draw, with the task the page is about marked in it.</summary>
public sealed record TaskTreeView(TaskTreeNode Root, Guid CurrentId);

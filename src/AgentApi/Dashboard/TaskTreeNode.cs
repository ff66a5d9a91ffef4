namespace AgentApi.Dashboard;

/// <summary>One task of a task tree with its children.</summary>
/// <param name="Id">The task's id.</param>
/// <param name="Status">The task's status as the API names it, such as <c>running</c>.</param>
/// <param name="Agent">The agent that runs the task.</param>
/// <param name="Name">The task's dotted name, or null.</param>
/// <param name="InputExcerpt">The task's input, cut after <see cref="TaskTreeReader.ExcerptLength"/> characters and then ending in "…".</param>
/// <param name="ProgressPercent">The task's progress, from 0 to 100.</param>
/// <param name="Children">The task's children, in subtask order.</param>
public sealed record TaskTreeNode(
    Guid Id,
    string Status,
    string Agent,
    string? Name,
    string InputExcerpt,
    int ProgressPercent,
    IReadOnlyList<TaskTreeNode> Children);

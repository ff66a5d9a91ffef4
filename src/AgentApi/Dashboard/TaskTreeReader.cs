using AgentApi.Storage;
using AgentApi.Tasks;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Dashboard;

/// <summary>Loads the whole tree a task belongs to, from its root down.</summary>
public sealed class TaskTreeReader(IDbContextFactory<AgentDbContext> dbFactory)
{
    /// <summary>Most tasks one tree shows; a larger tree is cut off at this many tasks, oldest first.</summary>
    public const int MaxNodes = 500;

    /// <summary>Characters of each task's input that the tree shows.</summary>
    public const int ExcerptLength = 80;

    /// <summary>Returns the tree of <paramref name="task"/>'s root, or a tree of the task alone when its root is gone.</summary>
    public async Task<TaskTreeNode> ReadAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var rootId = task.RootId ?? task.Id;
        await using var db = dbFactory.CreateDbContext();
        var rows = await db.Tasks.AsNoTracking()
            .Where(candidate => candidate.Id == rootId || candidate.RootId == rootId)
            .OrderBy(candidate => candidate.Id)
            .Take(MaxNodes)
            .Select(candidate => new TreeRow(
                candidate.Id,
                candidate.ParentId,
                candidate.SubtaskIndex,
                candidate.Status,
                candidate.Agent,
                candidate.Name,
                candidate.Input.Length > ExcerptLength ? candidate.Input.Substring(0, ExcerptLength) + "…" : candidate.Input,
                candidate.ProgressPercent))
            .ToListAsync(cancellationToken);

        var childrenByParent = rows
            .Where(row => row.ParentId is not null)
            .ToLookup(row => row.ParentId!.Value);
        var root = rows.FirstOrDefault(row => row.Id == rootId)
            ?? new TreeRow(task.Id, null, null, task.Status, task.Agent, task.Name, Excerpt(task.Input), task.ProgressPercent);
        return Build(root, childrenByParent);
    }

    private static string Excerpt(string input) => input.Length > ExcerptLength ? input[..ExcerptLength] + "…" : input;

    private static TaskTreeNode Build(TreeRow row, ILookup<Guid, TreeRow> childrenByParent)
    {
        var children = childrenByParent[row.Id]
            .OrderBy(child => child.SubtaskIndex ?? int.MaxValue)
            .ThenBy(child => child.Id)
            .Select(child => Build(child, childrenByParent))
            .ToList();
        return new TaskTreeNode(
            row.Id,
            WireNames<AgentTaskStatus>.ToName(row.Status),
            row.Agent,
            row.Name,
            row.InputExcerpt,
            row.ProgressPercent,
            children);
    }

    private sealed record TreeRow(
        Guid Id,
        Guid? ParentId,
        int? SubtaskIndex,
        AgentTaskStatus Status,
        string Agent,
        string? Name,
        string InputExcerpt,
        int ProgressPercent);
}

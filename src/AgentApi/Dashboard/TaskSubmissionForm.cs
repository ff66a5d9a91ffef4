using AgentApi.Tasks;

namespace AgentApi.Dashboard;

/// <summary>The dashboard's task form, as posted without JavaScript; the field names match the API's.</summary>
public sealed class TaskSubmissionForm
{
    public string? Agent { get; set; }

    public string? Input { get; set; }

    /// <summary><c>high</c>, <c>default</c> or <c>low</c>; empty lets the routing rules decide.</summary>
    public string? Priority { get; set; }

    public string? Lane { get; set; }

    /// <summary>One subtask input per line; blank lines are skipped.</summary>
    public string? Subtasks { get; set; }

    /// <summary>Returns the submission the form stands for, in the shape <c>POST /api/tasks</c> takes.</summary>
    public SubmitTaskRequest ToRequest()
    {
        var subtasks = (Subtasks ?? string.Empty)
            .Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(line => new SubtaskRequest { Input = line })
            .ToList();
        return new SubmitTaskRequest
        {
            Agent = Agent,
            Input = Input,
            Priority = Priority,
            Lane = Lane,
            Subtasks = subtasks.Count == 0 ? null : subtasks,
        };
    }
}

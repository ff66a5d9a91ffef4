namespace AgentApi.Tasks.Supervision;

/// <summary>
/// Records each child's end as a <c>child_completed</c> event of the parent, with the parent's
/// progress. In <c>as_completed</c> mode the event carries the child's result, so a client sees
/// each result the moment it is there.
/// </summary>
internal sealed class ChildReporter(TaskWorkItem parentItem, TaskCoordination coordination, int total)
{
    private int _finished;

    public void Completed(int index, AgentTask child)
    {
        var finished = Interlocked.Increment(ref _finished);
        var withResult = coordination == TaskCoordination.AsCompleted;
        parentItem.Observer?.Record(
            TaskEventTypes.ChildCompleted,
            new
            {
                childId = child.Id,
                subtaskIndex = index,
                agent = child.Agent,
                status = WireNames<AgentTaskStatus>.ToName(child.Status),
                result = withResult && child.ResultText is { } text ? new { text } : null,
                error = child.ErrorType is null ? null : new { type = child.ErrorType, message = child.ErrorMessage },
            },
            (finished * 100 / total, $"{finished} of {total} subtasks finished"));
    }
}

namespace AgentApi.Tasks;

/// <summary>How a supervisor combines the results of a task's subtasks.</summary>
public enum TaskCoordination
{
    All,
    First,
    AsCompleted,
    FailFast,
}

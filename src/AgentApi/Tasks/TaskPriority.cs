namespace AgentApi.Tasks;

/// <summary>Task priority; each level is one Hangfire queue of the same name.</summary>
public enum TaskPriority
{
    High,
    Default,
    Low,
}

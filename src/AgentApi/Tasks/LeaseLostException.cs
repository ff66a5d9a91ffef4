namespace AgentApi.Tasks;

/// <summary>Thrown when an attempt's lease token is no longer the task's: another instance took the task.</summary>
public sealed class LeaseLostException(Guid taskId)
    : Exception($"Task {taskId} is now held by another lease; this attempt stops without writing.");

namespace AgentApi.Tasks;

/// <summary>
/// A stored fact about a task. <see cref="Sequence"/> starts at 1 and grows by one per task, so a
/// reader can resume after the last sequence it saw.
/// </summary>
public sealed class TaskEvent
{
    public Guid TaskId { get; set; }

    public long Sequence { get; set; }

    public required string Type { get; set; }

    public DateTimeOffset Timestamp { get; set; }

    public string? DataJson { get; set; }
}

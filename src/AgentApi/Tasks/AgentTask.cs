namespace AgentApi.Tasks;

/// <summary>
/// A submitted piece of agent work. The row is the source of truth for the task: Hangfire only
/// carries a reference to it.
/// </summary>
public sealed class AgentTask
{
    public Guid Id { get; set; }

    public AgentTaskStatus Status { get; set; }

    public required string Agent { get; set; }

    public string? Name { get; set; }

    public required string Input { get; set; }

    public TaskPriority Priority { get; set; }

    /// <summary>The Hangfire queue the task's job is placed on: <c>high</c>, <c>default</c> or <c>low</c>.</summary>
    public required string Queue { get; set; }

    public required string Lane { get; set; }

    public string? SessionKey { get; set; }

    public Guid? ParentId { get; set; }

    /// <summary>The top task of the tree this task belongs to; the task's own id when it has no parent.</summary>
    public Guid? RootId { get; set; }

    /// <summary>A child's position among its parent's subtasks, starting at 0; null for a task without a parent.</summary>
    public int? SubtaskIndex { get; set; }

    /// <summary>Name of the workspace folder the task's file tools work in; children use their parent's.</summary>
    public string? Workspace { get; set; }

    /// <summary>Most tokens, input and output, the whole task tree may use; null means no limit.</summary>
    public long? TokenBudget { get; set; }

    public bool Decompose { get; set; }

    public TaskCoordination Coordination { get; set; }

    public int TimeoutSeconds { get; set; }

    public int MaxAttempts { get; set; }

    /// <summary>Number of attempts started so far, including one that is running now.</summary>
    public int Attempts { get; set; }

    /// <summary>Subtask submissions as JSON, kept for the supervisor.</summary>
    public string? SubtasksJson { get; set; }

    public string? MetadataJson { get; set; }

    public string? WebhookUrl { get; set; }

    /// <summary>What created the task when it was not a submission through the API: <c>heartbeat</c>, or null.</summary>
    public string? Origin { get; set; }

    /// <summary>Whether the result was a heartbeat's "nothing needs attention", which is stored but not announced.</summary>
    public bool Suppressed { get; set; }

    public string? IdempotencyKey { get; set; }

    /// <summary>SHA-256 of the submission body, compared when an idempotency key repeats.</summary>
    public string? RequestHash { get; set; }

    public string? HangfireJobId { get; set; }

    /// <summary>The service instance that owns the task, which waits in that instance's lane or runs there.</summary>
    public string? LeaseOwner { get; set; }

    /// <summary>
    /// Fencing token, raised by one each time an instance takes the task. A write from an attempt
    /// whose token is no longer current is refused, so a late attempt cannot overwrite the outcome.
    /// </summary>
    public long LeaseToken { get; set; }

    /// <summary>When the lease ends unless its owner renews it; after that another instance may take the task.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset? CancelRequestedAt { get; set; }

    public int ProgressPercent { get; set; }

    public string? ProgressMessage { get; set; }

    public string? ResultText { get; set; }

    public string? ResultModel { get; set; }

    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    /// <summary>Whether the result combines only some children's results because others failed.</summary>
    public bool ResultPartial { get; set; }

    public string? ErrorType { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>
    /// Sequence number of the task's newest event. It is also the row's concurrency token, so two
    /// writers can never store events with the same sequence.
    /// </summary>
    public long LastSequence { get; set; }

    public bool IsFinished => Status.IsFinished();

    /// <summary>A copy of the task as its next attempt will store it when it starts at <paramref name="now"/>.</summary>
    public AgentTask AsRunning(DateTimeOffset now)
    {
        var running = (AgentTask)MemberwiseClone();
        running.Status = AgentTaskStatus.Running;
        running.Attempts++;
        running.StartedAt ??= now;
        return running;
    }

    /// <summary>
    /// The session whose transcript the task continues: its session key, or for a top-level task
    /// in the <c>main</c> lane without one, the agent's main session <c>agent:&lt;agent&gt;:main</c>.
    /// Only a session key given in the submission makes tasks wait for earlier ones of the session.
    /// </summary>
    public string? TranscriptKey =>
        SessionKey ?? (ParentId is null && Lane == Lanes.LaneNames.Main ? Agents.SessionKeys.MainOf(Agent) : null);
}

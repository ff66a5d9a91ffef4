namespace AgentApi.Tasks;

/// <summary>What became of a submission.</summary>
public enum SubmissionOutcome
{
    Created,

    /// <summary>The idempotency key was seen before with the same body: the first task is returned.</summary>
    Replayed,

    /// <summary>The idempotency key was seen before with a different body.</summary>
    KeyConflict,
}

public sealed record SubmissionResult(SubmissionOutcome Outcome, AgentTask Task);

namespace AgentApi.Tasks;

/// <summary>Settings under <c>Tasks</c>: defaults and limits for submissions and retries.</summary>
public sealed class TaskOptions
{
    public const string SectionName = "Tasks";

    /// <summary>Deadline of a task that gives no <c>timeoutSeconds</c>, covering waiting and running. Defaults to 600 seconds.</summary>
    public int DefaultTimeoutSeconds { get; set; } = 600;

    /// <summary>Largest <c>timeoutSeconds</c> accepted. Defaults to 86,400 (one day).</summary>
    public int MaxTimeoutSeconds { get; set; } = 86_400;

    /// <summary>Attempts of a task that gives no <c>maxAttempts</c>. Defaults to 3.</summary>
    public int DefaultMaxAttempts { get; set; } = 3;

    /// <summary>Largest <c>maxAttempts</c> accepted. Defaults to 10.</summary>
    public int MaxAttemptsLimit { get; set; } = 10;

    /// <summary>Longest <c>input</c> accepted, in characters. Defaults to 100,000.</summary>
    public int MaxInputLength { get; set; } = 100_000;

    /// <summary>Most children one task may have: its subtasks, its plan's or its spawns. Defaults to 10.</summary>
    public int MaxChildren { get; set; } = 10;

    /// <summary>Spawns of one task that may wait for a slot in the <c>subagent</c> lane at once. Defaults to 10.</summary>
    public int MaxWaitingSpawns { get; set; } = 10;

    /// <summary>Largest <c>metadata</c> object, in bytes of JSON. Defaults to 16 KiB.</summary>
    public int MaxMetadataBytes { get; set; } = 16 * 1024;

    /// <summary>First delay before retrying a transient model failure; it doubles per attempt. Defaults to 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest computed backoff between attempts. Defaults to 30 seconds.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Cap on a provider's <c>Retry-After</c>, so that no task waits for hours on one header.
    /// Defaults to 60 seconds.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Whether a new task without a session key goes straight into its lane on the instance that
    /// stored it, holding a lease from the insert on, instead of waiting for its Hangfire job.
    /// Defaults to true. Hangfire still takes every task whose lease runs out, so a crash loses
    /// nothing; false sends every task through its Hangfire queue.
    /// </summary>
    public bool StartInProcess { get; set; } = true;
}

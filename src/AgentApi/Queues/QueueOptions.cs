using AgentApi.Tasks;

namespace AgentApi.Queues;

/// <summary>Settings under <c>Queues</c>.</summary>
public sealed class QueueOptions
{
    public const string SectionName = "Queues";

    public const int DefaultWorkerCount = 20;

    /// <summary>
    /// Hangfire workers in this process. Defaults to 20. Each worker runs one task at a time, so
    /// this bounds how many tasks run at once.
    /// </summary>
    public int WorkerCount { get; set; } = DefaultWorkerCount;

    /// <summary>
    /// How often an idle worker looks for work on PostgreSQL when no notification arrives,
    /// for jobs enqueued by another instance with notifications lost. Defaults to 1 second.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a job fetched by a process that then died stays invisible before another worker
    /// may take it. Defaults to 1 minute. Live workers keep extending it while they run, and a
    /// task's job ends as soon as the task is in its lane.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Routing rules for tasks submitted without <c>priority</c>: the first rule whose glob
    /// pattern (<c>*</c> and <c>?</c>, case-insensitive) matches the task name decides the priority.
    /// </summary>
    public List<PriorityRoute> Routes { get; set; } = [];
}

/// <summary>One routing rule, for example <c>{ "Pattern": "urgent.*", "Priority": "high" }</c>.</summary>
public sealed class PriorityRoute
{
    public string Pattern { get; set; } = string.Empty;

    public string Priority { get; set; } = string.Empty;
}

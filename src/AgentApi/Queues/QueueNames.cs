using AgentApi.Tasks;

namespace AgentApi.Queues;

/// <summary>The three Hangfire queues, in the order workers take from them.</summary>
public static class QueueNames
{
    public const string High = "high";
    public const string Default = "default";
    public const string Low = "low";

    /// <summary>Highest priority first; this order is what makes priority strict.</summary>
    public static string[] InPriorityOrder { get; } = [High, Default, Low];

    public static string For(TaskPriority priority) => priority switch
    {
        TaskPriority.High => High,
        TaskPriority.Low => Low,
        _ => Default,
    };
}

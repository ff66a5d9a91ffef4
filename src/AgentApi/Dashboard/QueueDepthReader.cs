using AgentApi.Queues;
using Hangfire;

namespace AgentApi.Dashboard;

/// <summary>Reads the depth of the three task queues from Hangfire's job storage.</summary>
public sealed class QueueDepthReader(JobStorage storage)
{
    /// <summary>Returns each queue's depth, highest priority first. Each call queries the storage.</summary>
    public IReadOnlyList<QueueDepth> Read()
    {
        var monitoring = storage.GetMonitoringApi();
        return QueueNames.InPriorityOrder
            .Select(queue => new QueueDepth(queue, monitoring.EnqueuedCount(queue)))
            .ToList();
    }
}

using System.Diagnostics;
using System.Globalization;
using AgentApi.Events;
using AgentApi.Tasks;

namespace AgentApi.HubBenchmark;

/// <summary>
/// Publishes synthetic <c>progress</c> events through <see cref="TaskEventBus.Publish"/>, the call
/// that <c>TaskStore</c> makes after each commit, so nothing is stored. Event <c>i</c> belongs to
/// task <c>i mod tasks</c> and carries <c>{"index": i, "sentAt": Stopwatch timestamp}</c> in its data.
/// </summary>
internal sealed class EventPublisher(TaskEventBus bus, TimeProvider timeProvider, int taskCount)
{
    private readonly Guid[] _taskIds = Enumerable.Range(0, taskCount).Select(_ => Guid.NewGuid()).ToArray();
    private readonly long[] _sequences = new long[taskCount];

    /// <summary>
    /// Publishes <paramref name="count"/> events at <paramref name="rate"/> a second, one batch
    /// every <paramref name="batchInterval"/>. A late batch catches up with the schedule: each
    /// batch contains every event due by then, so the average rate stays on target unless the
    /// machine falls behind for the whole run.
    /// The first event has index <paramref name="firstIndex"/>; the warm-up uses negative indexes.
    /// </summary>
    public async Task<PublishResult> PublishAsync(
        long firstIndex,
        long count,
        int rate,
        TimeSpan batchInterval,
        CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(batchInterval, timeProvider);
        var start = Stopwatch.GetTimestamp();
        long published = 0;
        var batches = 0;
        var maxLag = TimeSpan.Zero;
        while (published < count)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            var due = Math.Min(count, (long)(rate * elapsed.TotalSeconds));
            if (due > published)
            {
                // How late the oldest event of this batch is against its place in the schedule.
                var lag = elapsed - TimeSpan.FromSeconds((double)published / rate);
                maxLag = lag > maxLag ? lag : maxLag;
                bus.Publish(CreateBatch(firstIndex + published, (int)(due - published)));
                published = due;
                batches++;
            }

            if (published < count)
            {
                await timer.WaitForNextTickAsync(cancellationToken);
            }
        }

        return new PublishResult(start, Stopwatch.GetTimestamp(), published, batches, maxLag);
    }

    private List<TaskEvent> CreateBatch(long firstIndex, int count)
    {
        var sentAt = Stopwatch.GetTimestamp();
        var timestamp = timeProvider.GetUtcNow();
        List<TaskEvent> batch = new(count);
        for (var i = 0; i < count; i++)
        {
            var index = firstIndex + i;
            var task = (int)(((index % _taskIds.Length) + _taskIds.Length) % _taskIds.Length);
            batch.Add(new TaskEvent
            {
                TaskId = _taskIds[task],
                Sequence = ++_sequences[task],
                Type = TaskEventTypes.Progress,
                Timestamp = timestamp,
                DataJson = string.Create(CultureInfo.InvariantCulture, $$"""{"index":{{index}},"sentAt":{{sentAt}}}"""),
            });
        }

        return batch;
    }
}

/// <summary>What one publishing phase did; the start and end are <see cref="Stopwatch"/> timestamps.</summary>
internal sealed record PublishResult(long StartedAt, long EndedAt, long Published, int Batches, TimeSpan MaxLag)
{
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(StartedAt, EndedAt);
}

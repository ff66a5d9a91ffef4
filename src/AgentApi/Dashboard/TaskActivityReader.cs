using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Dashboard;

/// <summary>Counts tasks started and finished per minute over the last hour, from the tasks table.</summary>
public sealed class TaskActivityReader(IDbContextFactory<AgentDbContext> dbFactory, TimeProvider timeProvider)
{
    /// <summary>Minutes the chart covers, the current one included.</summary>
    public const int MinuteCount = 60;

    public async Task<TaskActivity> ReadAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var currentMinute = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var since = currentMinute.AddMinutes(1 - MinuteCount);

        // NOTE: started_at and finished_at have no index, so this scans the tasks table. Only the
        // two instants of each row are read; add an index if the table grows to millions of rows.
        await using var db = dbFactory.CreateDbContext();
        var rows = await db.Tasks.AsNoTracking()
            .Where(task => task.StartedAt >= since || task.FinishedAt >= since)
            .Select(task => new { task.StartedAt, task.FinishedAt })
            .ToListAsync(cancellationToken);

        var started = new int[MinuteCount];
        var finished = new int[MinuteCount];
        foreach (var row in rows)
        {
            if (MinuteIndex(row.StartedAt, since) is { } startedIndex)
            {
                started[startedIndex]++;
            }

            if (MinuteIndex(row.FinishedAt, since) is { } finishedIndex)
            {
                finished[finishedIndex]++;
            }
        }

        var minutes = Enumerable.Range(0, MinuteCount)
            .Select(index => new ActivityMinute(since.AddMinutes(index), started[index], finished[index]))
            .ToList();
        return new TaskActivity(minutes);
    }

    /// <summary>Returns the minute an instant falls in, or null when it is outside the window.</summary>
    private static int? MinuteIndex(DateTimeOffset? instant, DateTimeOffset since)
    {
        if (instant is not { } value || value < since)
        {
            return null;
        }

        var index = (int)((value - since).Ticks / TimeSpan.TicksPerMinute);
        return index < MinuteCount ? index : null;
    }
}

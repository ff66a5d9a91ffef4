using AgentApi.Dashboard;
using AgentApi.Storage;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AgentApi.Tests.Dashboard;

public sealed class TaskActivityReaderTests
{
    // 10:30:20 UTC, so the window's minutes run from 09:31 to 10:30.
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 10, 30, 20, TimeSpan.Zero);

    [Fact]
    public async Task ReadAsync_Postgres_CountsPerMinute()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        await AssertCountsPerMinuteAsync(factory);
    }

    [Fact]
    public async Task ReadAsync_Embedded_CountsPerMinute()
    {
        await using var factory = AgentApiFactory.StartEmbedded();
        await AssertCountsPerMinuteAsync(factory);
    }

    private static async Task AssertCountsPerMinuteAsync(AgentApiFactory factory)
    {
        await using (var db = factory.CreateDbContext())
        {
            // Started in the window's first minute, finished in the current one.
            db.Tasks.Add(FinishedTask(started: Now.AddMinutes(-59).AddSeconds(-15), finished: Now.AddSeconds(-5)));

            // Both in the current minute.
            db.Tasks.Add(FinishedTask(started: Now.AddSeconds(-10), finished: Now.AddSeconds(-1)));

            // Started before the window, finished 30 minutes ago.
            db.Tasks.Add(FinishedTask(started: Now.AddHours(-3), finished: Now.AddMinutes(-30)));

            // Entirely before the window.
            db.Tasks.Add(FinishedTask(started: Now.AddHours(-2), finished: Now.AddMinutes(-61)));
            await db.SaveChangesAsync().WaitAsync(TestTimeouts.Request);
        }

        var reader = new TaskActivityReader(
            factory.Services.GetRequiredService<IDbContextFactory<AgentDbContext>>(),
            new FakeTimeProvider(Now));
        var activity = await reader.ReadAsync(CancellationToken.None).WaitAsync(TestTimeouts.Request);

        Assert.Equal(TaskActivityReader.MinuteCount, activity.Minutes.Count);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 9, 31, 0, TimeSpan.Zero), activity.Minutes[0].Start);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 10, 30, 0, TimeSpan.Zero), activity.Minutes[^1].Start);
        Assert.Equal(1, activity.Minutes[0].Started);
        Assert.Equal(0, activity.Minutes[0].Finished);
        Assert.Equal(1, activity.Minutes[29].Finished);
        Assert.Equal(1, activity.Minutes[^1].Started);
        Assert.Equal(2, activity.Minutes[^1].Finished);
        Assert.Equal(2, activity.TotalStarted);
        Assert.Equal(3, activity.TotalFinished);
        Assert.Equal(2, activity.ScaleMax);
    }

    private static AgentTask FinishedTask(DateTimeOffset started, DateTimeOffset finished) => new()
    {
        Id = Guid.CreateVersion7(),
        Status = AgentTaskStatus.Succeeded,
        Agent = "general-purpose",
        Input = "counted by the activity chart",
        Queue = "default",
        Lane = "main",
        TimeoutSeconds = 600,
        MaxAttempts = 3,
        CreatedAt = started.AddSeconds(-1),
        StartedAt = started,
        FinishedAt = finished,
    };
}

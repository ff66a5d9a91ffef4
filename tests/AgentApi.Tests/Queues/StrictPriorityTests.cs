using System.Collections.Concurrent;
using AgentApi.Tests.Infrastructure;
using Hangfire;
using Hangfire.Common;
using Hangfire.Server;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Queues;

/// <summary>
/// Hangfire's side of priority: with the only worker busy and a backlog in all three queues, the
/// next free worker takes every high job before any default job, and default before low.
/// </summary>
public sealed class StrictPriorityTests
{
    private static readonly Dictionary<string, string?> OneWorkerWideLane = new()
    {
        ["Queues:WorkerCount"] = "1",

        // The lane must not be the bottleneck here, so the order seen is Hangfire's.
        ["Lanes:main:MaxConcurrent"] = "100",

        // Every task waits in its Hangfire queue, which is what this test orders.
        ["Tasks:StartInProcess"] = "false",
    };

    [Fact]
    public async Task Postgres_BusyWorkerWithBacklog_TakesHighThenDefaultThenLow()
    {
        var recorder = new FetchOrderRecorder();
        await using var factory = await AgentApiFactory.StartPostgresAsync(OneWorkerWideLane, recorder.Register);

        await AssertStrictOrderAsync(factory, recorder);
    }

    [Fact]
    public async Task Embedded_BusyWorkerWithBacklog_TakesHighThenDefaultThenLow()
    {
        var recorder = new FetchOrderRecorder();
        await using var factory = AgentApiFactory.StartEmbedded(OneWorkerWideLane, configureServices: recorder.Register);

        await AssertStrictOrderAsync(factory, recorder);
    }

    private static async Task AssertStrictOrderAsync(AgentApiFactory factory, FetchOrderRecorder recorder)
    {
        using var client = factory.CreateAuthenticatedClient();
        var jobs = factory.Services.GetRequiredService<IBackgroundJobClient>();

        // The one worker is held by this job while the backlog builds up in all three queues.
        var gate = BlockingJob.Open();
        jobs.Enqueue<BlockingJob>("low", job => job.Run(gate));
        await BlockingJob.WaitUntilRunningAsync(gate);

        List<(Guid Id, string Priority)> backlog = [];
        foreach (var round in Enumerable.Range(0, 3))
        {
            foreach (var priority in new[] { "low", "default", "high" })
            {
                var id = await factory.SubmitAsync(client, new { input = $"{priority} {round}", priority });
                backlog.Add((id, priority));
            }
        }

        // Jobs are created off the request path; the backlog is complete once every task has one.
        var ids = backlog.Select(item => item.Id).ToList();
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            await using var db = factory.CreateDbContext();
            if (await db.Tasks.CountAsync(task => ids.Contains(task.Id) && task.HangfireJobId != null) == ids.Count)
            {
                break;
            }

            await Task.Delay(20);
        }

        BlockingJob.Release(gate);
        foreach (var (id, _) in backlog)
        {
            await AgentApiFactory.WaitForFinishAsync(client, id);
        }

        var priorities = backlog.ToDictionary(item => item.Id, item => item.Priority);
        // A job delivered twice (a redelivery after a slow moment) is the same fetch for this order.
        var fetched = recorder.TaskIds.Where(priorities.ContainsKey).Distinct().ToList();
        Assert.Equal(
            ["high", "high", "high", "default", "default", "default", "low", "low", "low"],
            fetched.Select(id => priorities[id]));

        // Within one queue the order is first in, first out.
        foreach (var priority in new[] { "high", "default", "low" })
        {
            Assert.Equal(
                backlog.Where(item => item.Priority == priority).Select(item => item.Id),
                fetched.Where(id => priorities[id] == priority));
        }
    }

    /// <summary>Records the task id of every task job in the order Hangfire's workers start them.</summary>
    private sealed class FetchOrderRecorder : IServerFilter
    {
        private readonly ConcurrentQueue<Guid> _taskIds = new();

        public IReadOnlyList<Guid> TaskIds => _taskIds.ToArray();

        public void Register(IServiceCollection services) =>
            services.AddSingleton<IJobFilterProvider>(new JobFilterProviderCollection(
                JobFilterProviders.Providers,
                new JobFilterCollection { this }));

        public void OnPerforming(PerformingContext context)
        {
            if (context.BackgroundJob.Job.Args.FirstOrDefault() is Guid taskId)
            {
                _taskIds.Enqueue(taskId);
            }
        }

        public void OnPerformed(PerformedContext context)
        {
        }
    }
}

/// <summary>A Hangfire job that holds its worker until the test releases it.</summary>
public sealed class BlockingJob
{
    private static readonly ConcurrentDictionary<Guid, (TaskCompletionSource Running, TaskCompletionSource Released)> Gates = new();

    public static Guid Open()
    {
        var gate = Guid.NewGuid();
        Gates[gate] = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return gate;
    }

    public static Task WaitUntilRunningAsync(Guid gate) => Gates[gate].Running.Task.WaitAsync(TestTimeouts.Task);

    public static void Release(Guid gate) => Gates[gate].Released.TrySetResult();

    public void Run(Guid gate)
    {
        var (running, released) = Gates[gate];
        running.TrySetResult();
        released.Task.Wait(TestTimeouts.Task);
    }
}

using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;
using AgentApi.Tests.Reliability;
using Npgsql;
using Xunit.Abstractions;

namespace AgentApi.Tests.Agents;

/// <summary>
/// A supervisor's synthesis step during a stop, and a retry after a stored plan, on PostgreSQL
/// against the fake OpenAI-compatible server. The in-process host is stopped with DisposeAsync, which runs the
/// same hosted-service stop as SIGTERM.
/// </summary>
public sealed class SynthesisStopTests(ITestOutputHelper output)
{
    private const string SynthesisMarker = SupervisorTests.SynthesisMarker;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Two parents share the nested lane (limit 1). The first parent's synthesis runs for 8 s, so
    /// the second parent's synthesis waits in the lane when the stop begins. Both parents' children
    /// finished before the stop, and the grace period (20 s) is long enough for both syntheses.
    /// The stop starts the waiting synthesis instead of handing it back, so both parents succeed in
    /// their first attempt, and nothing counts as a model timeout.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public async Task Stop_SynthesisWaitingInFullLane_NoModelTimeout(int maxAttempts)
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var settings = SupervisorTests.Settings(fake, new()
        {
            ["Dispatcher:ShutdownGracePeriod"] = "00:00:20",
            ["Lanes:main:MaxConcurrent"] = "4",
            ["Lanes:nested:MaxConcurrent"] = "1",
        });
        fake.WhenLastUserMessageContains("Original task:\nparent one", FakeReply.Text("synthesis one", delay: TimeSpan.FromSeconds(8)));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("synthesis other"));
        fake.WhenLastUserMessageContains("child", FakeReply.Text("child result"));

        var first = await AgentApiFactory.StartPostgresAsync(settings).WaitAsync(Timeout);
        var connectionString = first.PostgresConnectionString!;
        Guid parentOne;
        Guid parentTwo;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using var client = first.CreateAuthenticatedClient();
            parentOne = await first.SubmitAsync(client, new { input = "parent one", maxAttempts, subtasks = new[] { new { input = "child of one" } } });
            await WaitForRequestAsync(fake, request => request.LastUserMessage.Contains("Original task:\nparent one", StringComparison.Ordinal), "the first synthesis");

            parentTwo = await first.SubmitAsync(client, new { input = "parent two", maxAttempts, subtasks = new[] { new { input = "child of two" } } });
            await ReliabilityDatabase.WaitUntilAsync(async () =>
            {
                var lane = await client.GetFromJsonAsync<LaneDto>("/api/lanes/nested");
                return lane!.Queued == 1;
            }, Timeout, "the second synthesis to wait in the nested lane");
            output.WriteLine($"second synthesis queued at {stopwatch.Elapsed.TotalSeconds:F1} s; stopping");
        }
        finally
        {
            await first.DisposeAsync();
        }

        output.WriteLine($"stopped at {stopwatch.Elapsed.TotalSeconds:F1} s");
        var stateOne = await ReadTaskAsync(connectionString, parentOne);
        var stateTwo = await ReadTaskAsync(connectionString, parentTwo);
        output.WriteLine($"parent one: {stateOne}");
        output.WriteLine($"parent two: {stateTwo}");
        var synthesisRequests = fake.Requests.Count(request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
        output.WriteLine($"synthesis requests: {synthesisRequests}");

        Assert.Equal("succeeded", stateOne.Status);
        Assert.Equal("succeeded", stateTwo.Status);
        Assert.Equal(0, stateTwo.ModelTimeoutEvents);
        Assert.Equal(1, stateTwo.Attempts);
        Assert.Equal(2, synthesisRequests);
    }

    /// <summary>
    /// A grace period of 1 s against a child that takes 2 s: the child is cut off, so the parent
    /// goes back to queued, and the next start finishes it without running the finished child again.
    /// </summary>
    [Fact]
    public async Task Stop_ShortGraceSlowChild_ParentRequeuedOnce()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var settings = SupervisorTests.Settings(fake, new() { ["Dispatcher:ShutdownGracePeriod"] = "00:00:01" });
        fake.WhenLastUserMessageContains("child fast", FakeReply.Text("fast result"));
        fake.WhenLastUserMessageContains("child slow", FakeReply.Text("slow result", delay: TimeSpan.FromSeconds(2)));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("synthesised"));

        var first = await AgentApiFactory.StartPostgresAsync(settings).WaitAsync(Timeout);
        var connectionString = first.PostgresConnectionString!;
        Guid id;
        try
        {
            using var client = first.CreateAuthenticatedClient();
            id = await first.SubmitAsync(client, new { input = "short grace", subtasks = new[] { new { input = "child fast" }, new { input = "child slow" } } });
            await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Children is [{ Status: "succeeded" }, { Status: "running" }], Timeout);
        }
        finally
        {
            await first.DisposeAsync();
        }

        var afterStop = await ReadTaskAsync(connectionString, id);
        output.WriteLine($"after the stop: {afterStop}");

        await using var second = await AgentApiFactory.StartPostgresOnAsync(connectionString, settings).WaitAsync(Timeout);
        using var secondClient = second.CreateAuthenticatedClient();
        var parent = await AgentApiFactory.WaitForFinishAsync(secondClient, id, Timeout);
        var final = await ReadTaskAsync(connectionString, id);
        output.WriteLine($"final: {final}");

        Assert.Equal("queued", afterStop.Status);
        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(0, final.ModelTimeoutEvents);
        Assert.Equal(1, fake.Requests.Count(request => request.LastUserMessage == "child fast"));
        Assert.Single(fake.Requests, request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
    }

    /// <summary>
    /// A cancel accepted by a second instance while the first instance's synthesis runs in the
    /// grace period: the parent must end cancelled, once.
    /// </summary>
    [Fact]
    public async Task Stop_CancelDuringGraceSynthesis_EndsCancelledOnce()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var settings = SupervisorTests.Settings(fake, new() { ["Dispatcher:ShutdownGracePeriod"] = "00:00:15" });
        fake.WhenLastUserMessageContains("child quick", FakeReply.Text("quick result"));
        fake.WhenLastUserMessageContains("child late", FakeReply.Text("late result", delay: TimeSpan.FromSeconds(2)));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("synthesised", delay: TimeSpan.FromSeconds(4)));

        var first = await AgentApiFactory.StartPostgresAsync(settings).WaitAsync(Timeout);
        var connectionString = first.PostgresConnectionString!;
        await using var second = await AgentApiFactory.StartPostgresOnAsync(connectionString, settings).WaitAsync(Timeout);
        using var secondClient = second.CreateAuthenticatedClient();
        Guid id;
        Task stop;
        using (var client = first.CreateAuthenticatedClient())
        {
            id = await first.SubmitAsync(client, new { input = "cancel in grace", subtasks = new[] { new { input = "child quick" }, new { input = "child late" } } });
            await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Children is [{ Status: "succeeded" }, { Status: "running" }], Timeout);
            stop = first.DisposeAsync().AsTask();
        }

        await WaitForRequestAsync(fake, request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal), "the synthesis");
        using var cancel = await secondClient.PostAsync($"/api/tasks/{id}/cancel", null);
        output.WriteLine($"cancel through the second instance: {(int)cancel.StatusCode}");
        await stop.WaitAsync(Timeout);

        var final = await ReadTaskAsync(connectionString, id);
        output.WriteLine($"after the stop: {final}");
        Assert.Equal("cancelled", final.Status);
        Assert.Equal(1, final.FinalEvents);
    }

    /// <summary>
    /// A decomposing parent whose synthesis fails once with HTTP 503, which the attempt retries.
    /// The plan was stored with the task, so the retry must reuse it instead of asking the model
    /// for a new plan that may differ from the children already run.
    /// </summary>
    [Fact]
    public async Task Retry_AfterStoredPlan_DoesNotPlanAgain()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var settings = SupervisorTests.Settings(fake, new());
        fake.WhenSystemMessageContains("Split the user's task", FakeReply.Text("""{"subtasks":[{"input":"plan A one"},{"input":"plan A two"}]}"""), times: 1);
        fake.WhenSystemMessageContains("Split the user's task", FakeReply.Text("""{"subtasks":[{"input":"plan B only"}]}"""));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Error(503), times: 1);
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("synthesised"));
        fake.WhenLastUserMessageContains("plan", FakeReply.Text("child result"));

        await using var factory = await AgentApiFactory.StartPostgresAsync(settings).WaitAsync(Timeout);
        using var client = factory.CreateAuthenticatedClient();
        var id = await factory.SubmitAsync(client, new { input = "decompose me", decompose = true });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);
        var state = await ReadTaskAsync(factory.PostgresConnectionString!, id);
        var planRequests = fake.Requests.Count(request => request.SystemMessage.Contains("Split the user's task", StringComparison.Ordinal));
        var synthesis = fake.Requests.Last(request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
        output.WriteLine($"parent: {state}; plan requests {planRequests}; children {string.Join(", ", parent.Children!.Select(child => child.Status))}");
        output.WriteLine($"last synthesis input: {synthesis.LastUserMessage}");

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(1, planRequests);
        Assert.Contains("Results of the 2 subtasks", synthesis.LastUserMessage, StringComparison.Ordinal);
    }

    private static Task WaitForRequestAsync(FakeModelServer fake, Func<RecordedRequest, bool> match, string description) =>
        ReliabilityDatabase.WaitUntilAsync(() => Task.FromResult(fake.Requests.Any(match)), Timeout, description);

    internal static async Task<StoredTask> ReadTaskAsync(string connectionString, Guid id)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            select t.status, t.attempts, coalesce(t.error_type, ''),
                   (select count(*) from task_events e where e.task_id = t.id and e.data_json like '%model_timeout%'),
                   (select count(*) from task_events e where e.task_id = t.id and e.type in ('succeeded', 'failed', 'cancelled', 'timed_out')),
                   (select string_agg(e.type, ',' order by e.sequence) from task_events e where e.task_id = t.id)
            from tasks t where t.id = @id
            """,
            connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"Task {id} is not stored.");
        return new StoredTask(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.IsDBNull(5) ? "" : reader.GetString(5));
    }

    internal sealed record StoredTask(string Status, int Attempts, string ErrorType, long ModelTimeoutEvents, long FinalEvents, string Events);

    private sealed record LaneDto(string Name, int MaxConcurrent, int Active, int Queued);
}

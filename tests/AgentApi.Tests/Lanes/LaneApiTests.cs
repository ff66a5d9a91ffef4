using System.Net;
using System.Net.Http.Json;
using System.Text;
using AgentApi.Tasks;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Lanes;

public sealed class LaneApiTests
{
    private static readonly Dictionary<string, string?> SlowModelFewWorkers = new()
    {
        ["Models:Default:LatencyMs"] = "60000",
        ["Queues:WorkerCount"] = "4",
        ["Lanes:main:MaxConcurrent"] = "1",
        ["Lanes:research:MaxConcurrent"] = "2",
    };

    [Fact]
    public async Task FullMainLane_TaskInOtherLane_StartsWithinOneSecond()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();
        var running = await factory.SubmitAsync(client, new { input = "runs for minutes" });
        await AgentApiFactory.WaitForTaskAsync(client, running, task => task.Status == "running");

        // Far more waiting main tasks than Hangfire workers.
        for (var i = 0; i < 50; i++)
        {
            await factory.SubmitAsync(client, new { input = $"waits {i}" });
        }

        await WaitForLaneAsync(client, "main", lane => lane.Queued == 50);
        var cron = await factory.SubmitAsync(client, new { input = "scheduled work", lane = "cron" });
        var custom = await factory.SubmitAsync(client, new { input = "research work", lane = "research" });

        var cronTask = await AgentApiFactory.WaitForTaskAsync(client, cron, task => task.StartedAt is not null, TimeSpan.FromSeconds(5));
        var customTask = await AgentApiFactory.WaitForTaskAsync(client, custom, task => task.StartedAt is not null, TimeSpan.FromSeconds(5));
        Assert.True(cronTask.StartedAt - cronTask.CreatedAt < TimeSpan.FromSeconds(1), $"cron task waited {cronTask.StartedAt - cronTask.CreatedAt}");
        Assert.True(customTask.StartedAt - customTask.CreatedAt < TimeSpan.FromSeconds(1), $"research task waited {customTask.StartedAt - customTask.CreatedAt}");

        var main = await GetLaneAsync(client, "main");
        Assert.Equal(1, main.MaxConcurrent);
        Assert.Equal(1, main.Active);
        Assert.Equal(50, main.Queued);
        Assert.Equal("lane_full", main.WaitReason);
    }

    [Fact]
    public async Task PutLane_RaiseLimit_StartsWaitingWorkAtOnce()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();
        List<Guid> ids = [];
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await factory.SubmitAsync(client, new { input = $"task {i}" }));
        }

        await WaitForLaneAsync(client, "main", lane => lane.Active == 1 && lane.Queued == 3);

        var response = await client.PutAsJsonAsync("/api/lanes/main", new { maxConcurrent = 3 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lane = await WaitForLaneAsync(client, "main", lane => lane.Active == 3);
        Assert.Equal(3, lane.MaxConcurrent);
        Assert.Equal(1, lane.Queued);
    }

    [Fact]
    public async Task PutLane_Zero_PausesAndWaitReasonIsPaused()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/api/lanes/research", new { maxConcurrent = 0 })).StatusCode);

        var id = await factory.SubmitAsync(client, new { input = "paused", lane = "research" });
        var lane = await WaitForLaneAsync(client, "research", lane => lane.Queued == 1);
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{id}");

        Assert.Equal("paused", lane.WaitReason);
        Assert.Equal(0, lane.Active);
        Assert.Equal("queued", task!.Status);

        await client.PutAsJsonAsync("/api/lanes/research", new { maxConcurrent = 1 });
        await AgentApiFactory.WaitForTaskAsync(client, id, task => task.Status == "running");
    }

    [Theory]
    [InlineData("""{"maxConcurrent":-1}""")]
    [InlineData("""{"maxConcurrent":"five"}""")]
    [InlineData("""{"maxConcurrent":1.5}""")]
    [InlineData("""{}""")]
    [InlineData("""{"maxConcurrent":99999999}""")]
    [InlineData("not json")]
    public async Task PutLane_InvalidLimit_Returns400AndChangesNothing(string body)
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();

        var response = await client.PutAsync("/api/lanes/main", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (body.StartsWith('{'))
        {
            Assert.Contains("maxConcurrent", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(1, (await GetLaneAsync(client, "main")).MaxConcurrent);
    }

    [Fact]
    public async Task Lanes_ListBuiltInAndConfiguredLanes_UnknownIs404()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();

        var lanes = (await client.GetFromJsonAsync<List<LaneDto>>("/api/lanes"))!;
        var unknownGet = await client.GetAsync("/api/lanes/nowhere");
        var unknownPut = await client.PutAsJsonAsync("/api/lanes/nowhere", new { maxConcurrent = 1 });

        Assert.Equal(["cron", "main", "nested", "research", "subagent"], lanes.Select(lane => lane.Name));
        Assert.Equal(2, lanes.Single(lane => lane.Name == "cron").MaxConcurrent);
        Assert.Equal(3, lanes.Single(lane => lane.Name == "subagent").MaxConcurrent);
        Assert.Equal(HttpStatusCode.NotFound, unknownGet.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownPut.StatusCode);
    }

    [Fact]
    public async Task SameSessionKey_TasksRunOneAtATimeInOrder()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "300",
            ["Lanes:main:MaxConcurrent"] = "3",
        });
        using var client = factory.CreateAuthenticatedClient();
        List<Guid> ids = [];
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await factory.SubmitAsync(client, new { input = $"turn {i}", sessionKey = "agent:general-purpose:main" }));
        }

        var other = await factory.SubmitAsync(client, new { input = "other session", sessionKey = "agent:plan:main" });
        List<TaskDto> finished = [];
        foreach (var id in ids)
        {
            finished.Add(await AgentApiFactory.WaitForFinishAsync(client, id));
        }

        var otherTask = await AgentApiFactory.WaitForFinishAsync(client, other);
        for (var i = 1; i < finished.Count; i++)
        {
            Assert.True(finished[i].StartedAt >= finished[i - 1].FinishedAt, $"turn {i} started before turn {i - 1} finished");
        }

        // The other session ran beside the first turn instead of after all three.
        Assert.True(otherTask.StartedAt < finished[0].FinishedAt);
    }

    [Fact]
    public async Task CancelWaitingTask_LeavesLaneWithoutRunning()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();
        var running = await factory.SubmitAsync(client, new { input = "holds the slot" });
        await AgentApiFactory.WaitForTaskAsync(client, running, task => task.Status == "running");
        var waiting = await factory.SubmitAsync(client, new { input = "waits" });
        await WaitForLaneAsync(client, "main", lane => lane.Queued == 1);

        var response = await client.PostAsync($"/api/tasks/{waiting}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await WaitForLaneAsync(client, "main", lane => lane.Queued == 0);
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{waiting}");
        Assert.Equal("cancelled", task!.Status);
        Assert.Null(task.StartedAt);
    }

    [Fact]
    public async Task DeadlineWhileWaiting_EndsTimedOutAndFreesTheQueue()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(SlowModelFewWorkers);
        using var client = factory.CreateAuthenticatedClient();
        var running = await factory.SubmitAsync(client, new { input = "holds the slot" });
        await AgentApiFactory.WaitForTaskAsync(client, running, task => task.Status == "running");

        var waiting = await factory.SubmitAsync(client, new { input = "waits too long", timeoutSeconds = 1 });
        var task = await AgentApiFactory.WaitForFinishAsync(client, waiting, TimeSpan.FromSeconds(10));

        Assert.Equal("timed_out", task.Status);
        Assert.Null(task.StartedAt);
        Assert.Equal(0, (await GetLaneAsync(client, "main")).Queued);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("cron")]
    public async Task CancelRecordedAfterModelReply_CountsAsFailed(string laneName)
    {
        const string racedInput = "cancelled while its reply is on the way";
        await using var fake = await FakeModelServer.StartAsync();
        using var releaseReply = new SemaphoreSlim(0);
        fake.SetResponder(request =>
        {
            if (!request.LastUserMessage.Contains(racedInput, StringComparison.Ordinal))
            {
                return null;
            }

            if (!releaseReply.Wait(TestTimeouts.Task))
            {
                throw new TimeoutException($"The test did not release the model's reply within {TestTimeouts.Task.TotalSeconds} s.");
            }

            return FakeReply.Text("a reply that arrives after the cancel request");
        });

        // Without a session key, a main-lane task keeps its slot until its outcome is stored. A
        // cron-lane task gives its slot back once its model replies, and its lane counts it only
        // when the outcome is stored. Lease renewal, which passes cancel requests to running
        // attempts, must not run during the test, so that the attempt receives the model's reply
        // and not a cancellation.
        await using var factory = AgentApiFactory.StartEmbedded(new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "openai",
            ["Models:Default:Endpoint"] = fake.BaseUrl,
            ["Models:Default:Model"] = "gpt-test",
            ["Models:Default:ApiKey"] = "sk-test",
            ["Leases:Duration"] = "01:00:00",
            ["Leases:RenewInterval"] = "00:30:00",
        });
        using var client = factory.CreateAuthenticatedClient();
        var ordinary = await factory.SubmitAsync(client, new { input = "runs to the end", lane = laneName });
        Assert.Equal("succeeded", (await AgentApiFactory.WaitForFinishAsync(client, ordinary)).Status);
        var requestsBefore = fake.Requests.Count;

        var raced = await factory.SubmitAsync(client, new { input = racedInput, lane = laneName });
        await fake.WaitForRequestsAsync(requestsBefore + 1, TestTimeouts.Task);

        // The change that POST /api/tasks/{id}/cancel stores for a running task, without signalling
        // the attempt, as when another instance accepts the cancel request.
        var store = factory.Services.GetRequiredService<TaskStore>();
        var requested = await store.UpdateAsync(raced, (task, events) =>
        {
            task.CancelRequestedAt = TimeProvider.System.GetUtcNow();
            events.Add(TaskEventTypes.CancelRequested);
            return task.Status == AgentTaskStatus.Running;
        }, CancellationToken.None);
        releaseReply.Release();
        Assert.True(requested?.Result, "the raced task was not running when its cancel request was stored");

        var task = await AgentApiFactory.WaitForFinishAsync(client, raced);
        var lane = await WaitForLaneAsync(client, laneName, lane => lane.Completed + lane.Failed == 2);

        Assert.Equal("cancelled", task.Status);
        Assert.Equal("cancelled", task.Error?.Type);
        Assert.Equal(1, lane.Completed);
        Assert.Equal(1, lane.Failed);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("cron")]
    public async Task CancelStoredAfterLaneTookTask_NotCounted(string laneName)
    {
        // Lease renewal must not run during the test, so that nothing but the lane's runner
        // looks at the stored task.
        await using var factory = AgentApiFactory.StartEmbedded(new Dictionary<string, string?>
        {
            ["Leases:Duration"] = "01:00:00",
            ["Leases:RenewInterval"] = "00:30:00",
        });
        using var client = factory.CreateAuthenticatedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/api/lanes/{laneName}", new { maxConcurrent = 0 })).StatusCode);
        var raced = await factory.SubmitAsync(client, new { input = "cancelled before its start is stored", lane = laneName });
        await WaitForLaneAsync(client, laneName, lane => lane.Queued == 1);

        // The change that POST /api/tasks/{id}/cancel stores for a queued task, without removing it
        // from this instance's lane. That is what the lane's runner finds when the request arrives
        // after the runner took the task and before its start write, or through another instance.
        var store = factory.Services.GetRequiredService<TaskStore>();
        var cancelled = await store.UpdateAsync(raced, (task, events) =>
        {
            if (task.Status != AgentTaskStatus.Queued)
            {
                return false;
            }

            TaskTransitions.Finish(task, events, AgentTaskStatus.Cancelled, TimeProvider.System.GetUtcNow(), "cancelled", "The task was cancelled before it started.");
            return true;
        }, CancellationToken.None);
        Assert.True(cancelled?.Result, "the raced task was not queued when its cancel was stored");

        // At limit 1 the ordinary task runs only after the runner has taken the raced task and
        // handed its slot back.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/api/lanes/{laneName}", new { maxConcurrent = 1 })).StatusCode);
        var ordinary = await factory.SubmitAsync(client, new { input = "runs after the cancelled task", lane = laneName });
        Assert.Equal("succeeded", (await AgentApiFactory.WaitForFinishAsync(client, ordinary)).Status);
        var lane = await WaitForLaneAsync(client, laneName, lane => lane.Completed == 1);
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{raced}");

        Assert.Equal(0, lane.Failed);
        Assert.Equal(0, lane.Queued);
        Assert.Equal(0, lane.Active);
        Assert.Equal("cancelled", task!.Status);
        Assert.Null(task.StartedAt);
        Assert.Equal(0, task.Attempts);
    }

    private static async Task<LaneDto> GetLaneAsync(HttpClient client, string name) =>
        (await client.GetFromJsonAsync<LaneDto>($"/api/lanes/{name}").WaitAsync(TestTimeouts.Request))!;

    private static async Task<LaneDto> WaitForLaneAsync(HttpClient client, string name, Func<LaneDto, bool> predicate)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        LaneDto? last = null;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            last = await GetLaneAsync(client, name);
            if (predicate(last))
            {
                return last;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"Lane '{name}' did not reach the expected state; last {last}.");
    }

    private sealed record LaneWaitDto(double P50, double P95);

    private sealed record LaneDto(string Name, int MaxConcurrent, int Active, int Queued, long Completed, long Failed, LaneWaitDto WaitMs, string? WaitReason);
}

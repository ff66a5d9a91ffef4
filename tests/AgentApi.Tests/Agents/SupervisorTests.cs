using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace AgentApi.Tests.Agents;

/// <summary>
/// The supervisor end to end on PostgreSQL: parents fan out to children in the subagent lane,
/// against the fake OpenAI-compatible server, with the official OpenAI client.
/// </summary>
public sealed class SupervisorTests(ITestOutputHelper output)
{
    private const string PlannerMarker = "Split the user's task";
    internal const string SynthesisMarker = "You combine the results of subtasks";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Decompose_FiveSlowChildren_FollowsLaneLimit()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        var plan = JsonSerializer.Serialize(new
        {
            subtasks = Enumerable.Range(1, 5).Select(n => new { agent = "explore", input = $"part {n} of the report" }),
        });
        fake.WhenSystemMessageContains(PlannerMarker, FakeReply.Text(plan));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("combined"));
        fake.WhenLastUserMessageContains("of the report", FakeReply.Text("child done", delay: TimeSpan.FromMilliseconds(200)));

        foreach (var limit in new[] { 3, 5 })
        {
            await SetLaneAsync(client, "subagent", limit);
            var before = fake.Requests.Count;
            var id = await factory.SubmitAsync(client, new { input = "Summarise the report in five parts", decompose = true });
            var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

            Assert.Equal("succeeded", parent.Status);
            Assert.Equal("combined", parent.Result!.Text);
            Assert.Equal(5, parent.Children!.Count);
            Assert.All(parent.Children, child => Assert.Equal("succeeded", child.Status));

            // Waves of 200 ms: two with 3 slots, one with 5.
            var waves = (5 + limit - 1) / limit;
            var wall = parent.FinishedAt!.Value - parent.StartedAt!.Value;
            var ideal = TimeSpan.FromMilliseconds(200 * waves);
            output.WriteLine($"subagent lane {limit}: parent wall {wall.TotalMilliseconds:0} ms, ideal {ideal.TotalMilliseconds:0} ms, overhead {(wall - ideal).TotalMilliseconds:0} ms");
            Assert.True(wall >= ideal, $"The parent took {wall.TotalMilliseconds} ms, less than {waves} waves of 200 ms.");

            var childRequests = fake.Requests.Skip(before).Where(request => request.LastUserMessage.Contains("of the report", StringComparison.Ordinal)).ToList();
            Assert.Equal(5, childRequests.Count);
            Assert.All(childRequests, request => Assert.DoesNotContain(PlannerMarker, request.Body, StringComparison.Ordinal));
        }

        Assert.True(fake.MaxConcurrentRequests <= 5);
    }

    [Fact]
    public async Task Decompose_PlanWithLongName_FailsAsInvalidPlan()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        var plan = JsonSerializer.Serialize(new { subtasks = new[] { new { input = "work", name = new string('n', 300) } } });
        fake.WhenSystemMessageContains(PlannerMarker, FakeReply.Text(plan));

        var id = await factory.SubmitAsync(client, new { input = "Plan badly", decompose = true });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", parent.Status);
        Assert.Equal("invalid_plan", parent.Error!.Type);
        Assert.Contains("name", parent.Error.Message, StringComparison.Ordinal);
        Assert.Equal(2, fake.Requests.Count(request => request.SystemMessage.Contains(PlannerMarker, StringComparison.Ordinal)));
        Assert.Empty(parent.Children!);
    }

    [Fact]
    public async Task All_OneChildFails_PartialResult()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("broken part", FakeReply.Error(400));
        fake.WhenLastUserMessageContains("good part", FakeReply.Text("good result"));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("partial answer"));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Do three things",
            subtasks = new[] { new { input = "good part one" }, new { input = "broken part" }, new { input = "good part two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.True(parent.Result!.Partial);
        Assert.Equal(["succeeded", "failed", "succeeded"], parent.Children!.Select(child => child.Status));
        var synthesis = Assert.Single(fake.Requests, request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
        var prompt = synthesis.LastUserMessage;
        Assert.Equal(2, CountOccurrences(prompt, "good result"));
        Assert.Contains("\"type\": \"model_error\"", prompt, StringComparison.Ordinal);
        Assert.True(prompt.IndexOf("Subtask 1", StringComparison.Ordinal) < prompt.IndexOf("Subtask 2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task All_EveryChildFails_ParentFails()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("doomed", FakeReply.Error(400));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Two doomed things",
            subtasks = new[] { new { input = "doomed one" }, new { input = "doomed two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", parent.Status);
        Assert.Equal("all_children_failed", parent.Error!.Type);
        Assert.DoesNotContain(fake.Requests, request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task First_FastChild_WinsOthersCancelled()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("slow", FakeReply.Hang());
        fake.WhenLastUserMessageContains("fast", FakeReply.Text("fast answer", delay: TimeSpan.FromMilliseconds(100)));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Race",
            coordination = "first",
            subtasks = new[] { new { input = "slow one" }, new { input = "fast one" }, new { input = "slow two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal("fast answer", parent.Result!.Text);
        Assert.Equal(["cancelled", "succeeded", "cancelled"], parent.Children!.Select(child => child.Status));
    }

    [Fact]
    public async Task First_WaitingSiblings_ReportedCancelled()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake, new() { ["Lanes:subagent:MaxConcurrent"] = "1" });
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("winner", FakeReply.Text("winner answer"));
        fake.WhenLastUserMessageContains("waits", FakeReply.Hang());

        var id = await factory.SubmitAsync(client, new
        {
            input = "Only the first matters",
            coordination = "first",
            subtasks = new[] { new { input = "winner" }, new { input = "waits one" }, new { input = "waits two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(["succeeded", "cancelled", "cancelled"], parent.Children!.Select(child => child.Status));
        var completed = (await GetEventsAsync(client, id)).Where(e => e.Type == "child_completed").ToList();
        Assert.Equal(3, completed.Count);
        Assert.Equal(["succeeded", "cancelled", "cancelled"], completed
            .OrderBy(e => e.Data!.Value.GetProperty("subtaskIndex").GetInt32())
            .Select(e => e.Data!.Value.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task AsCompleted_Results_EventsInCompletionOrder()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("late", FakeReply.Text("late result", delay: TimeSpan.FromMilliseconds(900)));
        fake.WhenLastUserMessageContains("middle", FakeReply.Text("middle result", delay: TimeSpan.FromMilliseconds(450)));
        fake.WhenLastUserMessageContains("early", FakeReply.Text("early result"));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("all three"));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Three at different speeds",
            coordination = "as_completed",
            subtasks = new[] { new { input = "late" }, new { input = "middle" }, new { input = "early" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        var events = await GetEventsAsync(client, id);
        var completed = events.Where(e => e.Type == "child_completed").ToList();
        Assert.Equal(["early result", "middle result", "late result"],
            completed.Select(e => e.Data!.Value.GetProperty("result").GetProperty("text").GetString()));
        Assert.Equal([2, 1, 0], completed.Select(e => e.Data!.Value.GetProperty("subtaskIndex").GetInt32()));

        // Each result was recorded before the parent finished, not all at the end.
        var succeeded = events.Single(e => e.Type == "succeeded");
        Assert.True(completed[0].Timestamp < succeeded.Timestamp - TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task FailFast_FirstFailure_CancelsTheRest()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("hangs", FakeReply.Hang());
        fake.WhenLastUserMessageContains("breaks", FakeReply.Error(400));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Stop at the first failure",
            coordination = "fail_fast",
            subtasks = new[] { new { input = "hangs one" }, new { input = "breaks" }, new { input = "hangs two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", parent.Status);
        Assert.Equal("child_failed", parent.Error!.Type);
        Assert.Equal(["cancelled", "failed", "cancelled"], parent.Children!.Select(child => child.Status));
    }

    [Fact]
    public async Task CancelParent_Children_CancelledWithinOneSecond()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("forever", FakeReply.Hang());

        // Five children with the subagent lane at 3: three run, two wait.
        var id = await factory.SubmitAsync(client, new
        {
            input = "Never ends",
            subtasks = Enumerable.Range(1, 5).Select(n => new { input = $"forever {n}" }).ToArray(),
        });
        await fake.WaitForRequestsAsync(3, Timeout);

        var cancelledAt = TimeProvider.System.GetUtcNow();
        var response = await client.PostAsync($"/api/tasks/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("cancelled", parent.Status);
        foreach (var child in parent.Children!)
        {
            var finished = await AgentApiFactory.WaitForFinishAsync(client, child.Id, Timeout);
            Assert.Equal("cancelled", finished.Status);
            Assert.True(finished.FinishedAt!.Value - cancelledAt < TimeSpan.FromSeconds(1),
                $"Child {child.Id} was cancelled {(finished.FinishedAt.Value - cancelledAt).TotalMilliseconds} ms after the parent.");
        }
    }

    [Fact]
    public async Task ChildTimeout_Parent_StillSucceeds()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        // First: the synthesis prompt quotes the subtasks, so the later rules would match it too.
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("what we have"));
        fake.WhenLastUserMessageContains("too slow", FakeReply.Hang());
        fake.WhenLastUserMessageContains("quick", FakeReply.Text("quick result"));

        var id = await factory.SubmitAsync(client, new
        {
            input = "One child is too slow",
            timeoutSeconds = 30,
            subtasks = new object[] { new { input = "quick" }, new { input = "too slow", timeoutSeconds = 2 } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(["succeeded", "timed_out"], parent.Children!.Select(child => child.Status));
        Assert.True(parent.Result!.Partial);
    }

    [Fact]
    public async Task ProviderLimit_EightChildren_TwoInFlight()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake, new()
        {
            ["Models:Default:MaxConcurrentRequests"] = "2",
            ["Lanes:subagent:MaxConcurrent"] = "8",
        });
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("limited", FakeReply.Text("ok", delay: TimeSpan.FromMilliseconds(150)));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("eight results"));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Eight children, two at a time",
            subtasks = Enumerable.Range(1, 8).Select(n => new { input = $"limited {n}" }).ToArray(),
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(8, parent.Children!.Count(child => child.Status == "succeeded"));
        Assert.Equal(2, fake.MaxConcurrentRequests);

        // Children that waited for a permit recorded a rate_limited event.
        var waited = 0;
        foreach (var child in parent.Children!)
        {
            waited += (await GetEventsAsync(client, child.Id)).Count(e => e.Type == "rate_limited");
        }

        Assert.True(waited >= 1, "No child recorded a wait for the model's limit.");
    }

    [Fact]
    public async Task Stop_LastChildEndsInGrace_ParentSucceeds()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var settings = new Dictionary<string, string?> { ["Dispatcher:ShutdownGracePeriod"] = "00:00:30" };
        var first = await StartAsync(fake, settings);
        var connectionString = first.PostgresConnectionString!;
        Guid id;
        try
        {
            using var client = first.CreateAuthenticatedClient();
            fake.WhenLastUserMessageContains("child A", FakeReply.Text("result A"));
            fake.WhenLastUserMessageContains("child B", FakeReply.Text("result B", delay: TimeSpan.FromSeconds(2)));
            fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("synthesised"));
            id = await first.SubmitAsync(client, new
            {
                input = "A and B",
                subtasks = new[] { new { input = "child A" }, new { input = "child B" } },
            });

            await AgentApiFactory.WaitForTaskAsync(client, id,
                task => task.Children is [{ Status: "succeeded" }, { Status: "running" }], Timeout);
            await fake.WaitForRequestsAsync(2, Timeout);
        }
        finally
        {
            // The stop begins while B's reply is up to 2 s away, well inside the grace period, so
            // the synthesis is scheduled while the lanes stop.
            await first.DisposeAsync();
        }

        await using var second = await AgentApiFactory.StartPostgresOnAsync(connectionString, Settings(fake, settings)).WaitAsync(Timeout);
        using var secondClient = second.CreateAuthenticatedClient();
        var parent = await AgentApiFactory.WaitForFinishAsync(secondClient, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(1, parent.Attempts);
        Assert.Single(fake.Requests, request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restart_FinishedChildren_NotRequestedAgain()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        var settings = new Dictionary<string, string?> { ["Dispatcher:ShutdownGracePeriod"] = "00:00:00.200" };
        var first = await StartAsync(fake, settings);
        var connectionString = first.PostgresConnectionString!;
        Guid id;
        try
        {
            using var client = first.CreateAuthenticatedClient();
            fake.WhenLastUserMessageContains("child A", FakeReply.Text("result A"));
            fake.WhenLastUserMessageContains("child B", FakeReply.Text("result B"));
            var hang = fake.WhenLastUserMessageContains("child C", FakeReply.Hang());
            id = await first.SubmitAsync(client, new
            {
                input = "A, B and C",
                subtasks = new[] { new { input = "child A" }, new { input = "child B" }, new { input = "child C" } },
            });

            await AgentApiFactory.WaitForTaskAsync(client, id,
                task => task.Children is [{ Status: "succeeded" }, { Status: "succeeded" }, { Status: "running" }], Timeout);

            // C counts as running before its request arrives, and only the hang rule may answer it.
            await fake.WaitForRequestsAsync(3, Timeout);
            fake.RemoveRule(hang);
        }
        finally
        {
            await first.DisposeAsync();
        }

        fake.WhenLastUserMessageContains("child C", FakeReply.Text("result C"));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("synthesised"));
        await using var second = await AgentApiFactory.StartPostgresOnAsync(connectionString, Settings(fake, settings)).WaitAsync(Timeout);
        using var secondClient = second.CreateAuthenticatedClient();
        var parent = await AgentApiFactory.WaitForFinishAsync(secondClient, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        Assert.Equal(["succeeded", "succeeded", "succeeded"], parent.Children!.Select(child => child.Status));
        Assert.Equal(1, fake.Requests.Count(request => request.LastUserMessage == "child A"));
        Assert.Equal(1, fake.Requests.Count(request => request.LastUserMessage == "child B"));
        var synthesis = Assert.Single(fake.Requests, request => request.SystemMessage.Contains(SynthesisMarker, StringComparison.Ordinal));
        foreach (var result in new[] { "result A", "result B", "result C" })
        {
            Assert.Equal(1, CountOccurrences(synthesis.LastUserMessage, result));
        }
    }

    [Fact]
    public async Task Submit_SubagentSessionFanOut_Is403()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();

        foreach (var body in new object[]
        {
            new { input = "fan out", sessionKey = "agent:explore:subagent:0b9f3c1e-1111-4a4a-9999-123456789abc", subtasks = new[] { new { input = "x" } } },
            new { input = "fan out", sessionKey = "agent:explore:subagent:0b9f3c1e-1111-4a4a-9999-123456789abc", decompose = true },
        })
        {
            var response = await client.PostAsJsonAsync("/api/tasks", body);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var page = await client.GetFromJsonAsync<TaskPageDto>("/api/tasks");
        Assert.Empty(page!.Items);
    }

    [Fact]
    public async Task TokenBudget_Exceeded_FailsTree()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("costly", FakeReply.Text("expensive", usage: new FakeUsage(500, 500)));

        var id = await factory.SubmitAsync(client, new
        {
            input = "Spend too much",
            tokenBudget = 1500,
            subtasks = new[] { new { input = "costly one" }, new { input = "costly two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", parent.Status);
        Assert.Equal("budget_exceeded", parent.Error!.Type);
        Assert.Equal(1500, parent.TreeUsage!.Budget);
        Assert.True(parent.TreeUsage.InputTokens + parent.TreeUsage.OutputTokens >= 2000);
    }

    [Fact]
    public async Task SlowChildInsert_ModelCalledFirst()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("slow insert", FakeReply.Text("child done"));
        fake.WhenSystemMessageContains(SynthesisMarker, FakeReply.Text("combined"));
        await AddInsertTriggerAsync(factory, "test_slow_child_insert", """
            if new.parent_id is not null and new.input like 'slow insert%' then
                perform pg_sleep(2);
            end if;
            """);

        var id = await factory.SubmitAsync(client, new { input = "Fan out", subtasks = new[] { new { input = "slow insert one" } } });
        await fake.WaitForRequestsAsync(1, Timeout);
        var storedWhenCalled = await CountChildrenAsync(factory, id);
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        // The model was called while the insert slept, and the child's events are still in order.
        Assert.Equal(0, storedWhenCalled);
        Assert.Equal("succeeded", parent.Status);
        var child = Assert.Single(parent.Children!);
        Assert.Equal("succeeded", child.Status);
        var events = await GetEventsAsync(client, child.Id);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(n => (long)n), events.Select(e => e.Sequence));
        Assert.Equal("queued", events[0].Type);
        Assert.Equal("started", events[1].Type);
        Assert.Equal("succeeded", events[^1].Type);
    }

    [Fact]
    public async Task CancelDuringChildInsert_ChildrenStoredCancelled()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("slow cancel", FakeReply.Hang());
        await AddInsertTriggerAsync(factory, "test_slow_cancel_insert", """
            if new.parent_id is not null and new.input like 'slow cancel%' then
                perform pg_sleep(0.5);
            end if;
            """);

        var id = await factory.SubmitAsync(client, new
        {
            input = "Fan out",
            subtasks = Enumerable.Range(1, 3).Select(n => new { input = $"slow cancel {n}" }).ToArray(),
        });
        await fake.WaitForRequestsAsync(3, Timeout);
        var storedWhenCancelled = await CountChildrenAsync(factory, id);
        var response = await client.PostAsync($"/api/tasks/{id}/cancel", null);
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        // The insert that was under way when the cancel came still commits, and every child it stored ends cancelled.
        Assert.Equal(0, storedWhenCancelled);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("cancelled", parent.Status);
        var statuses = await WaitForChildStatusesAsync(factory, id, expected: 3);
        Assert.Equal(["cancelled", "cancelled", "cancelled"], statuses);
    }

    [Fact]
    public async Task RejectedChildInsert_ParentFails()
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        await using var factory = await StartAsync(fake);
        using var client = factory.CreateAuthenticatedClient();
        fake.WhenLastUserMessageContains("rejected", FakeReply.Text("child done", delay: TimeSpan.FromMilliseconds(300)));
        await AddInsertTriggerAsync(factory, "test_reject_child_insert", """
            if new.parent_id is not null then
                perform pg_sleep(0.1);
                raise exception 'rejected by the test' using errcode = 'check_violation';
            end if;
            """);

        var id = await factory.SubmitAsync(client, new
        {
            input = "Fan out",
            subtasks = new[] { new { input = "rejected one" }, new { input = "rejected two" } },
        });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", parent.Status);
        Assert.Equal("internal_error", parent.Error!.Type);
        Assert.Equal(0, await CountChildrenAsync(factory, id));

        // The children's runs end without writing, and give back their slots.
        LaneStateDto subagent;
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(10);
        do
        {
            await Task.Delay(50);
            var lanes = await client.GetFromJsonAsync<List<LaneStateDto>>("/api/lanes").WaitAsync(Timeout);
            subagent = Assert.Single(lanes!, lane => lane.Name == "subagent");
        }
        while ((subagent.Active, subagent.Queued) != (0, 0) && TimeProvider.System.GetUtcNow() < deadline);

        Assert.Equal((0, 0), (subagent.Active, subagent.Queued));
    }

    /// <summary>Runs <paramref name="body"/>, PL/pgSQL statements on <c>new</c>, before each row inserted into tasks.</summary>
    private static Task AddInsertTriggerAsync(AgentApiFactory factory, string name, string body) =>
        ExecuteSqlAsync(factory, $"""
            create function {name}() returns trigger language plpgsql as $$
            begin
            {body}
            return new;
            end $$;
            create trigger {name} before insert on tasks for each row execute function {name}();
            """);

    private static async Task ExecuteSqlAsync(AgentApiFactory factory, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(factory.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Polls the parent's stored children until <paramref name="expected"/> exist and none is queued or running, then returns their statuses.</summary>
    private static async Task<List<string>> WaitForChildStatusesAsync(AgentApiFactory factory, Guid parentId, int expected)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(15);
        while (true)
        {
            List<string> statuses = [];
            await using (var connection = new Npgsql.NpgsqlConnection(factory.PostgresConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand("select status from tasks where parent_id = @parent order by subtask_index", connection);
                command.Parameters.AddWithValue("parent", parentId);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    statuses.Add(reader.GetString(0));
                }
            }

            var settled = statuses.Count == expected && !statuses.Any(status => status is "queued" or "running");
            if (settled || TimeProvider.System.GetUtcNow() > deadline)
            {
                return statuses;
            }

            await Task.Delay(100);
        }
    }

    private static async Task<long> CountChildrenAsync(AgentApiFactory factory, Guid parentId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(factory.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select count(*) from tasks where parent_id = @parent", connection);
        command.Parameters.AddWithValue("parent", parentId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    internal static Dictionary<string, string?> Settings(FakeModelServer fake, Dictionary<string, string?>? extra = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "openai",
            ["Models:Default:Endpoint"] = fake.BaseUrl,
            ["Models:Default:Model"] = "gpt-test",
            ["Models:Default:ApiKey"] = "sk-test",
            ["Tasks:RetryBaseDelay"] = "00:00:00.050",
        };
        foreach (var (key, value) in extra ?? [])
        {
            all[key] = value;
        }

        return all;
    }

    private static Task<AgentApiFactory> StartAsync(FakeModelServer fake, Dictionary<string, string?>? extra = null) =>
        AgentApiFactory.StartPostgresAsync(Settings(fake, extra)).WaitAsync(Timeout);

    private static async Task SetLaneAsync(HttpClient client, string lane, int limit)
    {
        var response = await client.PutAsJsonAsync($"/api/lanes/{lane}", new { maxConcurrent = limit });
        response.EnsureSuccessStatusCode();
    }

    private static async Task<List<TaskEventDto>> GetEventsAsync(HttpClient client, Guid id) =>
        await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events").WaitAsync(Timeout)
            ?? throw new InvalidOperationException($"GET /api/tasks/{id}/events returned no body.");

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private sealed record LaneStateDto(string Name, int Active, int Queued);
}

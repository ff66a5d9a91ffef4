using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Agents;

/// <summary>
/// The tool loop end to end on PostgreSQL: the fake OpenAI-compatible server returns tool calls,
/// the service runs them in the task's workspace and sends the results back.
/// </summary>
public sealed class ToolLoopTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _workspaceRoot = Directory.CreateTempSubdirectory("agentapi-workspaces-").FullName;
    private FakeModelServer _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);

    public async Task DisposeAsync()
    {
        await _fake.DisposeAsync();
        Directory.Delete(_workspaceRoot, recursive: true);
    }

    [Fact]
    public async Task ReadFile_ThenAnswer_Succeeds()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        var workspace = NewWorkspace();
        await File.WriteAllTextAsync(Path.Combine(_workspaceRoot, workspace, "notes.txt"), "The launch code is 4711.");
        _fake.AddRule(request => !HasToolResult(request), FakeReply.ToolCall("read_file", """{"path":"notes.txt"}"""));
        _fake.WhenLastMessageIsToolResult(FakeReply.Text("The code is 4711."));

        var id = await factory.SubmitAsync(client, new { agent = "explore", input = "What is the launch code?", workspace });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal("The code is 4711.", task.Result!.Text);
        Assert.Equal(2, _fake.Requests.Count);
        Assert.Equal(["glob", "grep", "list_files", "read_file"], _fake.Requests[0].ToolNames.Order(StringComparer.Ordinal));
        var toolMessage = _fake.Requests[1].Messages[^1];
        Assert.Equal("tool", toolMessage.Role);
        Assert.Contains("4711", toolMessage.Text, StringComparison.Ordinal);

        var events = await GetEventsAsync(client, id);
        var toolCall = Assert.Single(events, e => e.Type == "tool_call");
        Assert.Equal("read_file", toolCall.Data!.Value.GetProperty("tool").GetString());
        Assert.Equal(JsonValueKind.Null, toolCall.Data!.Value.GetProperty("error").ValueKind);
        Assert.Equal(2, events.Count(e => e.Type == "model_call"));
    }

    [Fact]
    public async Task ReplyWithNul_IsStoredWithReplacement()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.SetResponder(_ => FakeReply.Text("before\u0000after"));

        var id = await factory.SubmitAsync(client, new { input = "Reply with a NUL", workspace = NewWorkspace() });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal("before\uFFFDafter", task.Result!.Text);
        var transcript = await client.GetFromJsonAsync<JsonElement>("/api/sessions/agent:general-purpose:main");
        Assert.Equal("before\uFFFDafter", transcript.GetProperty("messages")[1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task SessionKeyWithSlash_TranscriptIsReadable()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.SetResponder(_ => FakeReply.Text("team answer"));

        var id = await factory.SubmitAsync(client, new { input = "team question", sessionKey = "team/alpha" });
        await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        foreach (var path in new[] { "/api/sessions/team/alpha", "/api/sessions/team%2Falpha" })
        {
            var transcript = await client.GetFromJsonAsync<JsonElement>(path);
            Assert.Equal("team/alpha", transcript.GetProperty("key").GetString());
            Assert.Equal(["team question", "team answer"], transcript.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("text").GetString()));
        }
    }

    [Fact]
    public async Task ReadFile_PathTraversal_ToolError()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        var workspace = NewWorkspace();
        await File.WriteAllTextAsync(Path.Combine(_workspaceRoot, "outside.txt"), "private outside data");
        _fake.AddRule(request => !HasToolResult(request), FakeReply.ToolCall("read_file", """{"path":"../outside.txt"}"""));
        _fake.WhenLastMessageIsToolResult(FakeReply.Text("I could not read it."));

        var id = await factory.SubmitAsync(client, new { agent = "explore", input = "Read ../outside.txt", workspace });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", task.Status);
        var toolMessage = _fake.Requests[1].Messages[^1];
        Assert.Contains("outside_workspace", toolMessage.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("private outside data", toolMessage.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnlistedTool_Called_ErrorResult()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        var workspace = NewWorkspace();
        _fake.AddRule(request => !HasToolResult(request), FakeReply.ToolCall("write_file", """{"path":"x.txt","content":"pwned"}"""));
        _fake.WhenLastMessageIsToolResult(FakeReply.Text("Not allowed, fine."));

        var id = await factory.SubmitAsync(client, new { agent = "explore", input = "Write a file", workspace });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.DoesNotContain("write_file", _fake.Requests[0].ToolNames);
        Assert.Contains("tool_not_allowed", _fake.Requests[1].Messages[^1].Text, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_workspaceRoot, workspace, "x.txt")));
    }

    [Fact]
    public async Task RepeatedCall_StopsWithStepLimit()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.SetResponder(_ => FakeReply.ToolCall("list_files", """{"path":"."}"""));

        var id = await factory.SubmitAsync(client, new { agent = "explore", input = "Loop forever", workspace = NewWorkspace() });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", task.Status);
        Assert.Equal("step_limit", task.Error!.Type);
        Assert.Equal(3, _fake.Requests.Count);
    }

    [Fact]
    public async Task MaxTurns_Reached_StopsRun()
    {
        await using var factory = await StartAsync(new() { ["Agents:MaxTurns"] = "3" });
        using var client = factory.CreateAuthenticatedClient();
        var turn = 0;
        _fake.SetResponder(_ => FakeReply.ToolCall("glob", $$"""{"pattern":"*.{{Interlocked.Increment(ref turn)}}"}"""));

        var id = await factory.SubmitAsync(client, new { agent = "explore", input = "Keep searching", workspace = NewWorkspace() });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("failed", task.Status);
        Assert.Equal("max_turns", task.Error!.Type);
        Assert.Equal(3, _fake.Requests.Count);
    }

    [Fact]
    public async Task SpawnFromSubagent_IsForbidden()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.AddRule(
            request => request.LastUserMessage == "child work" && !HasToolResult(request),
            FakeReply.ToolCall("spawn_subagent", """{"input":"grandchild work"}"""));
        _fake.WhenLastMessageIsToolResult(FakeReply.Text("did it myself"));
        _fake.WhenSystemMessageContains("You combine the results", FakeReply.Text("combined"));

        var id = await factory.SubmitAsync(client, new { input = "Parent", subtasks = new[] { new { input = "child work" } } });
        var parent = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", parent.Status);
        var child = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{parent.Children![0].Id}");
        Assert.StartsWith("agent:general-purpose:subagent:", child!.SessionKey, StringComparison.Ordinal);
        Assert.Empty(child.Children!);
        var toolResult = Assert.Single(_fake.Requests, HasToolResult).Messages[^1];
        Assert.Contains("forbidden", toolResult.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(_fake.Requests, request => request.LastUserMessage == "grandchild work");
    }

    [Fact]
    public async Task TwoSpawnsInOneReply_RunInParallel()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.AddRule(
            request => request.LastUserMessage == "Ask two helpers" && !HasToolResult(request),
            FakeReply.ToolCalls([new("spawn_subagent", """{"agent":"explore","input":"helper one"}"""), new("spawn_subagent", """{"agent":"plan","input":"helper two"}""")]));
        _fake.WhenLastUserMessageContains("helper", FakeReply.Text("helper answer", delay: TimeSpan.FromMilliseconds(300)));
        _fake.WhenLastMessageIsToolResult(FakeReply.Text("both helpers answered"));

        var id = await factory.SubmitAsync(client, new { input = "Ask two helpers", workspace = NewWorkspace() });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", task.Status);
        Assert.Equal(["explore", "plan"], task.Children!.Select(child => child.Agent));
        Assert.Equal(2, _fake.MaxConcurrentRequests);
        var final = _fake.Requests[^1];
        Assert.Equal(2, final.Messages.Count(message => message.Role == "tool" && message.Text == "helper answer"));
    }

    [Fact]
    public async Task AskAgent_RunsInNestedLane()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.AddRule(
            request => request.LastUserMessage == "Consult the planner" && !HasToolResult(request),
            FakeReply.ToolCall("ask_agent", """{"agent":"plan","input":"planner question"}"""));
        _fake.WhenLastUserMessageContains("planner question", FakeReply.Text("planner answer"));
        _fake.WhenLastMessageIsToolResult(FakeReply.Text("done with the planner's help"));

        var id = await factory.SubmitAsync(client, new { input = "Consult the planner", workspace = NewWorkspace() });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id, Timeout);

        Assert.Equal("succeeded", task.Status);
        var child = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{Assert.Single(task.Children!).Id}");
        Assert.Equal("plan", child!.Agent);
        Assert.Equal("nested", child.Lane);
        Assert.Equal(id, child.ParentId);
        Assert.Equal("planner answer", _fake.Requests[^1].Messages[^1].Text);
    }

    [Fact]
    public async Task MainSession_SecondTask_ContinuesTranscript()
    {
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();
        _fake.WhenLastUserMessageContains("first question", FakeReply.Text("first answer"));
        _fake.WhenLastUserMessageContains("second question", FakeReply.Text("second answer"));
        _fake.WhenLastUserMessageContains("isolated child", FakeReply.Text("child answer"));
        _fake.WhenSystemMessageContains("You combine the results", FakeReply.Text("combined"));

        var first = await factory.SubmitAsync(client, new { input = "first question" });
        await AgentApiFactory.WaitForFinishAsync(client, first, Timeout);
        var second = await factory.SubmitAsync(client, new { input = "second question" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, second, Timeout);
        var parent = await factory.SubmitAsync(client, new { input = "third", subtasks = new[] { new { input = "isolated child" } } });
        await AgentApiFactory.WaitForFinishAsync(client, parent, Timeout);

        Assert.Equal("agent:general-purpose:main", task.SessionKey);
        var secondRequest = Assert.Single(_fake.Requests, request => request.LastUserMessage == "second question");
        Assert.Equal(["system", "user", "assistant", "user"], secondRequest.Messages.Select(message => message.Role));
        Assert.Equal("first question", secondRequest.Messages[1].Text);
        Assert.Equal("first answer", secondRequest.Messages[2].Text);

        var childRequest = Assert.Single(_fake.Requests, request => request.LastUserMessage == "isolated child");
        Assert.Equal(["system", "user"], childRequest.Messages.Select(message => message.Role));

        var sessions = await client.GetFromJsonAsync<JsonElement>("/api/sessions?agent=general-purpose");
        var keys = sessions.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("key").GetString()).ToList();
        Assert.Contains("agent:general-purpose:main", keys);
        Assert.Contains(keys, key => key!.StartsWith("agent:general-purpose:subagent:", StringComparison.Ordinal));

        var transcript = await client.GetFromJsonAsync<JsonElement>("/api/sessions/agent:general-purpose:main");
        var texts = transcript.GetProperty("messages").EnumerateArray().Select(message => message.GetProperty("text").GetString()).ToList();
        Assert.Equal(["first question", "first answer", "second question", "second answer", "third", "combined"], texts);
    }

    private static bool HasToolResult(RecordedRequest request) => request.Messages.Any(message => message.Role == "tool");

    private string NewWorkspace()
    {
        var name = $"ws-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Path.Combine(_workspaceRoot, name));
        return name;
    }

    private Task<AgentApiFactory> StartAsync(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "openai",
            ["Models:Default:Endpoint"] = _fake.BaseUrl,
            ["Models:Default:Model"] = "gpt-test",
            ["Models:Default:ApiKey"] = "sk-test",
            ["Tools:WorkspaceRoot"] = _workspaceRoot,
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return AgentApiFactory.StartPostgresAsync(settings).WaitAsync(Timeout);
    }

    private static async Task<List<TaskEventDto>> GetEventsAsync(HttpClient client, Guid id) =>
        await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{id}/events").WaitAsync(Timeout)
            ?? throw new InvalidOperationException($"GET /api/tasks/{id}/events returned no body.");
}

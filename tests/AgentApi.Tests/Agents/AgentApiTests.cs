using System.Net;
using System.Net.Http.Json;
using AgentApi.Agents;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Agents;

/// <summary>
/// <c>GET /api/agents</c>, <c>GET /api/agents/{name}</c> and task submission against the real
/// service in embedded mode, with <c>Agents:Directory</c> in a temporary folder per test. Tests
/// named <c>WhileRunning</c> wait for the real folder watcher: they poll the API until a change
/// shows or the deadline passes.
/// </summary>
public sealed class AgentApiTests : IDisposable
{
    private static readonly TimeSpan WatchDeadline = TimeSpan.FromSeconds(20);
    private static readonly string[] BuiltInNames = ["explore", "general-purpose", "plan"];

    private readonly string _root = Directory.CreateTempSubdirectory("agentapi-agents-").FullName;

    private string Folder => Path.Combine(_root, "agents");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file is still open elsewhere. The folder is under the system's temporary folder.
        }
    }

    [Fact]
    public async Task ListAgents_NoFolder_ReturnsBuiltInAgents()
    {
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var list = await GetListAsync(client);

        Assert.Equal(BuiltInNames, list.Items.Select(agent => agent.Name));
        Assert.Empty(list.Broken);
        var general = list.Items.Single(agent => agent.Name == "general-purpose");
        Assert.Equal(AllToolsSorted, general.Tools);
        Assert.Empty(general.DisallowedTools);
        Assert.Equal("inherit", general.Model);
        Assert.Null(general.MaxTurns);
        Assert.Equal("built-in", general.Source);
        Assert.Equal(["glob", "grep", "list_files", "read_file"], list.Items.Single(agent => agent.Name == "explore").Tools);
    }

    [Fact]
    public async Task ListAgents_DefaultSetting_LooksBesideContentRoot()
    {
        await using var factory = AgentApiFactory.StartEmbedded();

        var contentRoot = factory.Services.GetRequiredService<IHostEnvironment>().ContentRootPath;
        var expected = Path.GetFullPath(Path.Combine(contentRoot, "agents"));
        Assert.Contains(factory.Logs.Entries, entry => entry.EventId.Id == 6003 && entry.Message.Contains($"'{expected}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListAgents_ValidFile_ListsItSortedWithEffectiveTools()
    {
        WriteAgent("reviewer.md", """
            ---
            name: reviewer
            description: Reviews a change for bugs.
            tools: [read_file, grep, bash]
            disallowedTools: bash
            model: fast
            maxTurns: 12
            ---
            You review code.
            """);
        WriteAgent("0-first-file.md", AgentDirectoryLoaderTests.AgentFile("zeta", "Sorted by name, not by file."));
        await using var factory = Start(new() { ["Models:Fast:Provider"] = "simulated", ["Models:Fast:LatencyMs"] = "0" });
        using var client = factory.CreateAuthenticatedClient();

        var list = await GetListAsync(client);

        Assert.Equal(["explore", "general-purpose", "plan", "reviewer", "zeta"], list.Items.Select(agent => agent.Name));
        Assert.Empty(list.Broken);
        var reviewer = list.Items.Single(agent => agent.Name == "reviewer");
        Assert.Equal("Reviews a change for bugs.", reviewer.Description);
        Assert.Equal(["grep", "read_file"], reviewer.Tools);
        Assert.Equal(["bash"], reviewer.DisallowedTools);
        Assert.Equal("Fast", reviewer.Model);
        Assert.Equal(12, reviewer.MaxTurns);
        Assert.Equal(Path.Combine(Folder, "reviewer.md"), reviewer.Source);
    }

    [Fact]
    public async Task GetAgent_FileAgent_ReturnsSystemPrompt()
    {
        WriteAgent("helper.md", "---\nname: helper\ndescription: Helps.\ndisallowedTools: [bash, web_fetch]\n---\n\nYou help.\n\nBe brief.\n");
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var agent = await client.GetFromJsonAsync<AgentDto>("/api/agents/helper").WaitAsync(TestTimeouts.Request);

        Assert.NotNull(agent);
        Assert.Equal("helper", agent.Name);
        Assert.Equal("You help.\n\nBe brief.", agent.SystemPrompt);
        Assert.Equal(AllToolsSorted.Except(["bash", "web_fetch"]), agent.Tools);
        Assert.Equal(["bash", "web_fetch"], agent.DisallowedTools);
        Assert.Equal("inherit", agent.Model);
    }

    [Fact]
    public async Task GetAgent_BuiltIn_ReturnsSystemPrompt()
    {
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var agent = await client.GetFromJsonAsync<AgentDto>("/api/agents/plan").WaitAsync(TestTimeouts.Request);

        Assert.NotNull(agent);
        Assert.Equal("built-in", agent.Source);
        Assert.StartsWith("You are a planning agent.", agent.SystemPrompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nobody")]
    [InlineData("Explore")]
    public async Task GetAgent_Unknown_Returns404Problem(string name)
    {
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var response = await client.GetAsync($"/api/agents/{name}").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDto>().WaitAsync(TestTimeouts.Request);
        Assert.Equal(404, problem!.Status);
        Assert.Equal("Agent not found", problem.Title);
        Assert.Equal($"No agent is named '{name}'. Known agents: explore, general-purpose, plan.", problem.Detail);
    }

    [Theory]
    [InlineData("/api/agents")]
    [InlineData("/api/agents/explore")]
    public async Task Agents_WithoutApiKey_Returns401(string path)
    {
        await using var factory = Start();
        using var client = factory.CreateClient();

        var response = await client.GetAsync(path).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task SwaggerDocument_ListsAgentEndpoints()
    {
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        using var document = System.Text.Json.JsonDocument.Parse(
            await client.GetStringAsync("/swagger/v1/swagger.json").WaitAsync(TestTimeouts.Request));

        var paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/agents", out var list));
        Assert.True(list.GetProperty("get").GetProperty("responses").TryGetProperty("200", out _));
        Assert.True(paths.TryGetProperty("/api/agents/{name}", out var one));
        Assert.True(one.GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
    }

    [Fact]
    public async Task ListAgents_FileNamedExplore_OverridesBuiltIn()
    {
        WriteAgent("explore.md", "---\nname: explore\ndescription: Explores with a shell.\ntools: bash, read_file\nmaxTurns: 3\n---\nExplore with the shell.\n");
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var list = await GetListAsync(client);
        var id = await factory.SubmitAsync(client, new { input = "look around", agent = "explore" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id);

        var explore = Assert.Single(list.Items, agent => agent.Name == "explore");
        Assert.Equal("Explores with a shell.", explore.Description);
        Assert.Equal(["bash", "read_file"], explore.Tools);
        Assert.Equal(3, explore.MaxTurns);
        Assert.Equal(Path.Combine(Folder, "explore.md"), explore.Source);
        Assert.Equal(BuiltInNames, list.Items.Select(agent => agent.Name));
        Assert.Equal("succeeded", task.Status);
    }

    public static TheoryData<string, string, string> BrokenFiles => new()
    {
        { "bad-yaml.md", "---\nname: bad-yaml\ndescription: [unclosed\n---\nPrompt.\n", "the front matter is not valid YAML at line" },
        { "no-front-matter.md", "# Just Markdown\n\nNo front matter here.\n", "the file has no YAML front matter" },
        { "no-name.md", "---\ndescription: Has no name.\n---\nPrompt.\n", "'name' is missing" },
        { "no-description.md", "---\nname: no-description\n---\nPrompt.\n", "'description' is missing" },
        { "unknown-tool.md", "---\nname: unknown-tool\ndescription: d\ntools: [read_file, Teleport]\n---\nPrompt.\n", "'tools' names unknown tools 'Teleport'" },
        { "unknown-model.md", "---\nname: unknown-model\ndescription: d\nmodel: gpt-9\n---\nPrompt.\n", "'model' names unknown model 'gpt-9'" },
        { "bad-max-turns.md", "---\nname: bad-max-turns\ndescription: d\nmaxTurns: 0\n---\nPrompt.\n", "'maxTurns' must be a whole number from 1 to 1000; got '0'" },
        { "bad-name.md", "---\nname: Bad_Name\ndescription: d\n---\nPrompt.\n", "'name' 'Bad_Name' is invalid" },
        { "empty-prompt.md", "---\nname: empty-prompt\ndescription: d\n---\n\n", "the system prompt is empty" },
        { "z-duplicate.md", "---\nname: valid\ndescription: Second definition.\n---\nPrompt.\n", "agent 'valid' is already defined by 'valid.md'" },
    };

    [Fact]
    public async Task ListAgents_BrokenFiles_ListsEachReasonAndKeepsServing()
    {
        WriteAgent("valid.md", AgentDirectoryLoaderTests.AgentFile("valid", "The one good file."));
        foreach (var row in BrokenFiles)
        {
            WriteAgent((string)row[0], ((string)row[1]).Replace("Prompt.", "secret-prompt-text", StringComparison.Ordinal));
        }

        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var list = await GetListAsync(client);
        var health = await client.GetAsync("/health/live").WaitAsync(TestTimeouts.Request);
        var id = await factory.SubmitAsync(client, new { input = "still works", agent = "valid" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id);

        Assert.Equal([.. BuiltInNames, "valid"], list.Items.Select(agent => agent.Name));
        Assert.Equal(BrokenFiles.Count(), list.Broken.Count);
        foreach (var row in BrokenFiles)
        {
            var file = Path.Combine(Folder, (string)row[0]);
            var broken = Assert.Single(list.Broken, entry => entry.File == file);
            Assert.Contains((string)row[2], broken.Reason, StringComparison.Ordinal);
            Assert.Contains(factory.Logs.Entries, entry =>
                entry.EventId.Id == 6001
                && entry.Level == LogLevel.Warning
                && entry.Message.Contains(file, StringComparison.Ordinal)
                && entry.Message.Contains(broken.Reason, StringComparison.Ordinal));
        }

        Assert.Equal(list.Broken.Select(entry => entry.File).Order(StringComparer.Ordinal), list.Broken.Select(entry => entry.File));
        Assert.DoesNotContain("secret-prompt-text", factory.Logs.AllText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("succeeded", task.Status);
    }

    [Fact]
    public async Task SubmitTask_BrokenAgentFile_Returns400()
    {
        WriteAgent("broken.md", "---\nname: broken\ndescription: d\nmodel: gpt-9\n---\nPrompt.\n");
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        var response = await client.PostAsJsonAsync("/api/tasks", new { input = "x", agent = "broken" }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Unknown agent 'broken'", await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileAdded_WhileRunning_BecomesListedAndSubmittable()
    {
        Directory.CreateDirectory(Folder);
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();
        var before = await client.PostAsJsonAsync("/api/tasks", new { input = "too early", agent = "late" }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.BadRequest, before.StatusCode);

        WriteAgent("late.md", AgentDirectoryLoaderTests.AgentFile("late", "Added while running."));
        var list = await WaitForListAsync(client, list => list.Items.Any(agent => agent.Name == "late"));
        var id = await factory.SubmitAsync(client, new { input = "now known", agent = "late" });
        var task = await AgentApiFactory.WaitForFinishAsync(client, id);

        Assert.Equal("Added while running.", list.Items.Single(agent => agent.Name == "late").Description);
        Assert.Equal("late", task.Agent);
        Assert.Equal("succeeded", task.Status);
    }

    [Fact]
    public async Task FileAdded_WhileRunningWithoutPolling_SeenThroughWatcherEvents()
    {
        Directory.CreateDirectory(Folder);
        await using var factory = Start(new() { ["Agents:PollInterval"] = "01:00:00" });
        using var client = factory.CreateAuthenticatedClient();

        WriteAgent("evented.md", AgentDirectoryLoaderTests.AgentFile("evented", "Seen through a change event."));

        await WaitForListAsync(client, list => list.Items.Any(agent => agent.Name == "evented"));
    }

    [Fact]
    public async Task FileChanged_WhileRunning_ShowsNewDescription()
    {
        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "First description."));
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();
        Assert.Equal("First description.", (await GetListAsync(client)).Items.Single(agent => agent.Name == "helper").Description);

        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Second description."));

        await WaitForListAsync(client, list => list.Items.Any(agent => agent.Description == "Second description."));
    }

    [Fact]
    public async Task FileBrokenThenFixed_WhileRunning_MovesBetweenLists()
    {
        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Works."));
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        WriteAgent("helper.md", "---\nname: helper\ndescription: Works.\nmaxTurns: lots\n---\nPrompt.\n");
        var broken = await WaitForListAsync(client, list => list.Broken.Count == 1);
        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Fixed."));
        var fixedList = await WaitForListAsync(client, list => list.Broken.Count == 0 && list.Items.Any(agent => agent.Name == "helper"));

        Assert.DoesNotContain(broken.Items, agent => agent.Name == "helper");
        Assert.Contains("'maxTurns' must be a whole number", broken.Broken[0].Reason, StringComparison.Ordinal);
        Assert.Equal("Fixed.", fixedList.Items.Single(agent => agent.Name == "helper").Description);
    }

    [Fact]
    public async Task FileDeleted_WhileRunning_DisappearsAndIsRejected()
    {
        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Soon gone."));
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();
        Assert.Contains((await GetListAsync(client)).Items, agent => agent.Name == "helper");

        File.Delete(Path.Combine(Folder, "helper.md"));
        await WaitForListAsync(client, list => list.Items.All(agent => agent.Name != "helper"));
        var response = await client.PostAsJsonAsync("/api/tasks", new { input = "x", agent = "helper" }).WaitAsync(TestTimeouts.Request);
        var lookup = await client.GetAsync("/api/agents/helper").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task FolderCreated_WhileRunning_AgentsAppear()
    {
        await using var factory = Start();
        using var client = factory.CreateAuthenticatedClient();

        Directory.CreateDirectory(Folder);
        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "In a new folder."));

        await WaitForListAsync(client, list => list.Items.Any(agent => agent.Name == "helper"));
    }

    [Fact]
    public async Task Reload_AfterFileWritten_ShowsAgentAtOnce()
    {
        Directory.CreateDirectory(Folder);
        await using var factory = Start(new() { ["Agents:ReloadDelay"] = "00:01:00", ["Agents:PollInterval"] = "01:00:00" });
        using var client = factory.CreateAuthenticatedClient();
        var catalog = factory.Services.GetRequiredService<AgentCatalog>();

        WriteAgent("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Reloaded by hand."));
        catalog.Reload();
        var list = await GetListAsync(client);

        Assert.Contains(list.Items, agent => agent.Name == "helper");
    }

    private static IReadOnlyList<string> AllToolsSorted => [.. AgentApi.Agents.Tools.ToolNames.All.Order(StringComparer.Ordinal)];

    private AgentApiFactory Start(Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        settings["Agents:Directory"] = Folder;
        return AgentApiFactory.StartEmbedded(settings);
    }

    private void WriteAgent(string fileName, string text)
    {
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, fileName), text);
    }

    private static async Task<AgentListDto> GetListAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<AgentListDto>("/api/agents").WaitAsync(TestTimeouts.Request))!;

    private static async Task<AgentListDto> WaitForListAsync(HttpClient client, Func<AgentListDto, bool> predicate)
    {
        var deadline = TimeProvider.System.GetUtcNow() + WatchDeadline;
        AgentListDto? last = null;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            last = await GetListAsync(client);
            if (predicate(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        var names = last is null ? "none" : string.Join(", ", last.Items.Select(agent => $"{agent.Name}: {agent.Description}"));
        throw new TimeoutException($"GET /api/agents did not show the change within {WatchDeadline.TotalSeconds} s; last agents: {names}.");
    }

    private sealed record AgentListDto(List<AgentSummaryDto> Items, List<BrokenAgentFileDto> Broken);

    private sealed record AgentSummaryDto(
        string Name,
        string Description,
        List<string> Tools,
        List<string> DisallowedTools,
        string Model,
        int? MaxTurns,
        string Source);

    private sealed record AgentDto(
        string Name,
        string Description,
        List<string> Tools,
        List<string> DisallowedTools,
        string Model,
        int? MaxTurns,
        string Source,
        string SystemPrompt);

    private sealed record BrokenAgentFileDto(string File, string Reason);

    private sealed record ProblemDto(int Status, string Title, string Detail);
}

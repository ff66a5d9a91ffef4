using System.Text.RegularExpressions;
using AgentApi.Lanes;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentApi.Tests.Dashboard;

/// <summary>
/// Drives the dashboard in headless Chromium against the real service. Screenshots go to
/// TestResults/screenshots at the repository root.
/// </summary>
public sealed partial class DashboardBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private static readonly LocatorAssertionsToHaveTextOptions LongWait = new() { Timeout = 60_000 };

    /// <summary>Records the task's status each time the output on its page changes, in <c>window.statusesOnOutput</c>.</summary>
    private const string RecordStatusOnOutputScript = """
        () => {
            window.statusesOnOutput = [];
            const status = document.querySelector("#task-summary [data-role=status]");
            new MutationObserver(() => window.statusesOnOutput.push(status.textContent))
                .observe(document.getElementById("task-output"), { childList: true, characterData: true, subtree: true });
        }
        """;

    [Fact]
    public async Task TaskForm_Submission_RunsLiveWithoutReload()
    {
        await using var session = await fixture.SignInAsync();
        var overview = session.Page;
        var tasks = await session.Context.NewPageAsync();
        await tasks.GotoAsync("/tasks");
        await Expect(tasks.Locator("#live-status")).ToHaveTextAsync(fixture.ConnectedUpdatesText);
        await tasks.EvaluateAsync("() => { window.loadedOnce = true; }");
        var navigations = 0;
        tasks.FrameNavigated += (_, frame) =>
        {
            if (frame == tasks.MainFrame)
            {
                navigations++;
            }
        };

        await tasks.GetByLabel("Lane").SelectOptionAsync(BrowserFixture.PausedLane);
        await tasks.GetByLabel("Input", new() { Exact = true }).FillAsync("Summarise the browser test");
        await tasks.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();
        var link = tasks.Locator("#submit-message a");
        await Expect(link).ToHaveTextAsync(GuidPattern());
        var taskId = await link.TextContentAsync();
        var badge = tasks.Locator($"tr[data-task-id='{taskId}'] [data-role=status]");

        // The lane is paused, so the task waits as queued until the overview raises the limit.
        await Expect(badge).ToHaveTextAsync("queued");
        await overview.BringToFrontAsync();
        await overview.GetByLabel($"Limit of lane {BrowserFixture.PausedLane}").FillAsync("1");
        var laneRow = overview.Locator($"tr[data-lane='{BrowserFixture.PausedLane}']");
        await laneRow.GetByRole(AriaRole.Button, new() { Name = "Set" }).ClickAsync();

        await Expect(laneRow.Locator("[data-role=limit-message]")).ToHaveTextAsync("Limit set to 1.");
        await Expect(laneRow.Locator("[data-role=utilisation-text]")).ToHaveTextAsync(new Regex("of 1 active$"));
        Assert.Equal(1, fixture.Factory.Services.GetRequiredService<LaneDispatcher>().GetSnapshot(BrowserFixture.PausedLane)!.MaxConcurrent);

        await Expect(badge).ToHaveTextAsync("running");
        await Expect(badge).ToHaveTextAsync("succeeded", LongWait);
        Assert.Equal(0, navigations);
        Assert.True(await tasks.EvaluateAsync<bool>("() => window.loadedOnce === true"), "The task list was reloaded.");
        await tasks.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("tasks.png"), FullPage = true });

        await overview.ReloadAsync();
        await Expect(overview.Locator(".chart .bar-finished").First).ToBeAttachedAsync();
        await Expect(overview.Locator("#live-status")).ToHaveTextAsync(fixture.ConnectedUpdatesText);
        await overview.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("overview.png"), FullPage = true });
        Assert.True(session.ScriptErrors.Count == 0, string.Join(Environment.NewLine, session.ScriptErrors));
    }

    [Fact]
    public async Task TaskDetail_Subtasks_ShowLiveTreeAndOutcome()
    {
        await using var session = await fixture.SignInAsync();
        var page = session.Page;
        await page.GotoAsync("/tasks");
        await page.GetByLabel("Input", new() { Exact = true }).FillAsync("Compare the two reports");
        await page.GetByLabel("Subtasks, one input per line (optional)").FillAsync("Read report A\nRead report B");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();
        var link = page.Locator("#submit-message a");
        await Expect(link).ToHaveTextAsync(GuidPattern());
        await link.ClickAsync();
        await Expect(page.Locator("#live-status")).ToHaveTextAsync(fixture.ConnectedUpdatesText);

        // The children take one model latency before the synthesis streams its output, so the
        // page is loaded before any output exists.
        await page.EvaluateAsync(RecordStatusOnOutputScript);

        var summaryBadge = page.Locator("#task-summary [data-role=status]");
        var childBadges = page.Locator("#task-tree .tree > li > ul > li > .tree-node [data-role=status]");
        await Expect(childBadges).ToHaveCountAsync(2);
        await Expect(summaryBadge).ToHaveTextAsync("succeeded", LongWait);
        await Expect(childBadges.Nth(0)).ToHaveTextAsync("succeeded");
        await Expect(childBadges.Nth(1)).ToHaveTextAsync("succeeded");
        await Expect(page.Locator("#task-outcome [data-role=result]")).ToContainTextAsync("[simulated]");
        await Expect(page.Locator("#task-output")).ToContainTextAsync("[simulated]");
        Assert.Contains("running", await page.EvaluateAsync<string[]>("() => window.statusesOnOutput"));
        await Expect(page.Locator("#task-timeline")).ToContainTextAsync("child_completed");
        await Expect(page.Locator("#cancel-form")).ToHaveCountAsync(0);
        await Expect(page.Locator("#task-summary [data-role=finished-at]")).Not.ToHaveTextAsync("not yet");

        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("task-tree.png"), FullPage = true });
        Assert.True(session.ScriptErrors.Count == 0, string.Join(Environment.NewLine, session.ScriptErrors));
    }

    [Fact]
    public async Task TaskForm_NoJavaScript_ShowsErrorThenSubmits()
    {
        await using var session = await fixture.SignInAsync(javaScriptEnabled: false);
        var page = session.Page;
        await page.GotoAsync("/tasks");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();
        await Expect(page.Locator("[data-error-for=input]")).Not.ToBeEmptyAsync();

        await page.GetByLabel("Input", new() { Exact = true }).FillAsync("Posted without JavaScript");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();
        await page.WaitForURLAsync(TaskPagePattern());
        await Expect(page.Locator("#task-summary [data-role=status]")).ToHaveTextAsync(new Regex("^(queued|running|succeeded)$"));
    }

    [Fact]
    public async Task SwaggerUi_TryItOut_SubmitsExample()
    {
        await using var session = await fixture.SignInAsync();
        var page = session.Page;
        await page.GotoAsync("/swagger/index.html");
        var operation = page.Locator("#operations-Tasks-post_api_tasks");

        await operation.Locator(".opblock-summary").ClickAsync();
        await operation.GetByRole(AriaRole.Button, new() { Name = "Try it out" }).ClickAsync();
        await operation.GetByRole(AriaRole.Button, new() { Name = "Execute" }).ClickAsync();

        var status = operation.Locator(".live-responses-table tr.response td.response-col_status");
        await Expect(status).ToHaveTextAsync("202", LongWait);
        var body = await operation.Locator(".live-responses-table tr.response td.response-col_description pre").First.TextContentAsync();
        Assert.Contains("\"agent\": \"general-purpose\"", body, StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("swagger-try-it-out.png"), FullPage = true });
        Assert.True(session.ScriptErrors.Count == 0, string.Join(Environment.NewLine, session.ScriptErrors));
    }

    [Fact]
    public async Task SystemPage_SignedIn_ShowsResources()
    {
        await using var session = await fixture.SignInAsync();
        var page = session.Page;
        await page.GotoAsync("/system");

        await Expect(page.Locator("[data-field=processorCount]")).ToHaveTextAsync(new Regex("^[0-9]+$"));
        await Expect(page.Locator("[data-field=affinity]")).ToHaveTextAsync(new Regex("^[0-9]"));
        await Expect(page.Locator("[data-field='cgroup.memory.limitBytes']")).ToHaveTextAsync(new Regex("^(not limited|[0-9.]+ [MG]iB .*)$"));
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("system.png"), FullPage = true });
        Assert.True(session.ScriptErrors.Count == 0, string.Join(Environment.NewLine, session.ScriptErrors));
    }

    [Processes.CgroupFact]
    public async Task SystemPage_FanOutOfPinnedProcesses_ShowsEachWithLimits()
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var parentId = await fixture.Factory.SubmitAsync(client, new
        {
            input = "sleep on three CPU lists",
            subtasks = BrowserFixture.PinnedAgents.Select(pinned => new { agent = pinned.Agent, input = "sleep" }),
        });
        var registry = fixture.Factory.Services.GetRequiredService<AgentApi.Processes.RunningProcessRegistry>();
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        while (registry.All.Count(process => process.Agent.StartsWith("pinned-", StringComparison.Ordinal)) < 3)
        {
            Assert.True(TimeProvider.System.GetUtcNow() < deadline, "The three process subagents did not start.");
            await Task.Delay(50);
        }

        try
        {
            await using var session = await fixture.SignInAsync();
            var page = session.Page;
            await page.GotoAsync("/system");

            await Expect(page.Locator("#lane-cpus tr[data-lane=subagent] [data-field=cpus]")).ToHaveTextAsync("0-1");
            foreach (var (agent, cpus) in BrowserFixture.PinnedAgents)
            {
                var row = page.Locator("#processes tr[data-role=process]").Filter(new() { Has = page.Locator($"[data-field=agent]:text-is('{agent}')") });
                await Expect(row.Locator("[data-limit=cpus]")).ToHaveTextAsync(new Regex($"^cpus {Regex.Escape(cpus)}: applied through cgroup v1 cpuset.cpus, taskset$"));
                await Expect(row.Locator("[data-limit=memoryLimit]")).ToHaveTextAsync(new Regex("^memoryLimit 64Mi: applied through cgroup v1 memory.limit_in_bytes"));
                await Expect(row.Locator("[data-limit=pidsLimit]")).ToHaveTextAsync("pidsLimit 16: applied through cgroup v1 pids.max");
                await Expect(row.Locator("[data-field=lane]")).ToHaveTextAsync("subagent");
            }

            await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("system-processes.png"), FullPage = true });
            Assert.True(session.ScriptErrors.Count == 0, string.Join(Environment.NewLine, session.ScriptErrors));
        }
        finally
        {
            await client.PostAsync($"/api/tasks/{parentId}/cancel", null).WaitAsync(TestTimeouts.Request);
            await AgentApiFactory.WaitForFinishAsync(client, parentId);
        }
    }

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex GuidPattern();

    [GeneratedRegex("/tasks/[0-9a-f-]{36}$")]
    private static partial Regex TaskPagePattern();
}

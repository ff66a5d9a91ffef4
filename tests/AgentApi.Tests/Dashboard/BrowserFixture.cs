using AgentApi.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AgentApi.Tests.Dashboard;

/// <summary>
/// One service on PostgreSQL behind a real Kestrel socket, and one headless Chromium, shared by
/// the browser tests of a class. Chromium is Debian's package at <see cref="ChromiumPath"/>;
/// Playwright's own browser downloads are never used.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>A lane that starts paused, so a task submitted to it stays queued until a test raises its limit.</summary>
    public const string PausedLane = "browser";

    /// <summary>How long the simulated model takes per reply: longer than the pages' 2 s polling interval, so <c>running</c> is seen either way.</summary>
    public const int ModelLatencyMs = 4000;

    /// <summary>Limit of each Playwright action and expectation, set for the whole test run.</summary>
    public static readonly TimeSpan ActionTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Process agents that sleep, pinned to CPU 0, CPU 1 and both, for the system page's list of running programs.</summary>
    public static readonly (string Agent, string Cpus)[] PinnedAgents = [("pinned-zero", "0"), ("pinned-one", "1"), ("pinned-both", "0-1")];

    private readonly string _agents = Directory.CreateTempSubdirectory("agentapi-browser-agents-").FullName;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private AgentApiFactory? _factory;

    public AgentApiFactory Factory => _factory ?? throw new InvalidOperationException("The fixture has not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The fixture has not started.");

    public Uri BaseAddress => Factory.ServerAddress;

    /// <summary>The folder screenshots are written to: TestResults/screenshots at the repository root.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(FindRepositoryRoot(), "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {ChromiumPath}, so the browser tests cannot run. Install Debian's chromium package "
                + "(apt-get install chromium); scripts/test.sh does this when it runs as root.");
        }

        foreach (var (agent, cpus) in PinnedAgents)
        {
            File.WriteAllText(Path.Join(_agents, agent + ".md"),
                $"---\nname: {agent}\ndescription: Sleeps on CPUs {cpus}.\ncommand: sleep\nargs: [\"180\"]\ncpus: \"{cpus}\"\nmemoryLimit: 64Mi\npidsLimit: 16\n---\n");
        }

        _factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Agents:Directory"] = _agents,
            ["Lanes:subagent:Cpus"] = "0-1",
            ["Models:Default:LatencyMs"] = ModelLatencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"Lanes:{PausedLane}:MaxConcurrent"] = "0",
        }).WaitAsync(TestTimeouts.Task);

        Assertions.SetDefaultExpectTimeout((float)ActionTimeout.TotalMilliseconds);
        _playwright = await Playwright.CreateAsync().WaitAsync(TestTimeouts.Request);
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Timeout = (float)ActionTimeout.TotalMilliseconds,
        }).WaitAsync(TestTimeouts.Request);
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    /// <summary>Opens a new browser context and signs it in through <c>/login</c> with the admin key.</summary>
    public async Task<BrowserSession> SignInAsync(bool javaScriptEnabled = true)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            JavaScriptEnabled = javaScriptEnabled,
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        }).WaitAsync(TestTimeouts.Request);
        context.SetDefaultTimeout((float)ActionTimeout.TotalMilliseconds);
        var session = new BrowserSession(context, await context.NewPageAsync().WaitAsync(TestTimeouts.Request));

        var page = session.Page;
        await page.GotoAsync("/login");
        await page.GetByLabel("API key").FillAsync(AgentApiFactory.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Only the navigation: the steps that follow wait for what they need on the page.
        await page.WaitForURLAsync(new Uri(BaseAddress, "/").ToString(), new() { WaitUntil = WaitUntilState.Commit });
        return session;
    }

    /// <summary>
    /// The header text a page with live updates shows once its script has connected: live through
    /// the hub when the build restored the SignalR client, polling otherwise.
    /// </summary>
    public string ConnectedUpdatesText =>
        File.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot", "lib", "signalr", "signalr.min.js"))
            ? "Updates: live"
            : "Updates: every 2 s";

    public static string ScreenshotPath(string name) => Path.Combine(ScreenshotDirectory, name);

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        Directory.Delete(_agents, recursive: true);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentApi.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} contains AgentApi.sln.");
    }
}

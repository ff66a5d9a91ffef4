using System.Diagnostics;
using System.Globalization;
using AgentApi.Agents.Tools;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Agents.Tools;

public sealed class BashToolTests : IDisposable
{
    private static readonly TimeSpan ProcessGoneTimeout = TimeSpan.FromSeconds(5);

    private readonly ToolSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Bash_Command_ReturnsOutputAndExitCode()
    {
        var tool = CreateTool();

        var result = await _sandbox.InvokeAsync(tool, new { command = "echo out; echo err >&2; exit 3" });

        Assert.Contains("out\n", result, StringComparison.Ordinal);
        Assert.Contains("err\n", result, StringComparison.Ordinal);
        Assert.EndsWith("[Exit code: 3]", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bash_Command_RunsInWorkspaceWithEmptyInput()
    {
        _sandbox.WriteFile("here.txt", "x");
        var tool = CreateTool();

        var result = await _sandbox.InvokeAsync(tool, new { command = "pwd; ls; cat; echo \"home=$HOME\"" });

        var root = new Workspace(_sandbox.WorkspacePath).Root;
        Assert.Equal($"{root}\nhere.txt\nhome={root}\n[Exit code: 0]", result);
    }

    [Fact]
    public async Task Bash_OutputAboveLimit_IsTruncatedWithNote()
    {
        var tool = CreateTool(options => options.Bash.MaxOutputBytes = 1024);

        var result = await _sandbox.InvokeAsync(tool, new { command = "head -c 100000 /dev/zero | tr '\\0' a" });

        Assert.StartsWith(new string('a', 1024) + "\n[Output truncated: 98976 more bytes were discarded", result, StringComparison.Ordinal);
        Assert.EndsWith("[Exit code: 0]", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bash_Timeout_KillsChildProcessWithinBound()
    {
        var tool = CreateTool();
        var stopwatch = Stopwatch.StartNew();

        var exception = await _sandbox.InvokeFailingAsync(
            tool,
            new { command = "sleep 60 & echo $! > child.pid; echo started; wait", timeout_seconds = 2 });

        stopwatch.Stop();
        Assert.Equal("timeout", exception.Code);
        Assert.Contains("started", exception.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"The call took {stopwatch.Elapsed}.");
        await AssertProcessGoneAsync(ReadChildPid());
    }

    [Fact]
    public async Task Bash_Cancellation_KillsChildProcess()
    {
        var tool = CreateTool();
        using var cancellation = new CancellationTokenSource();
        var call = ToolSandbox.InvokeAsync(
            tool,
            _sandbox.Context,
            new { command = "sleep 60 & echo $! > child.pid.tmp; mv child.pid.tmp child.pid; wait" },
            cancellation.Token);
        await WaitForFileAsync(Path.Join(_sandbox.WorkspacePath, "child.pid"));

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await AssertProcessGoneAsync(ReadChildPid());
    }

    [Fact]
    public async Task Bash_SecretInServiceEnvironment_IsNotVisible()
    {
        var name = "AGENTAPI_TEST_SECRET_" + Guid.NewGuid().ToString("N");
        var value = "secret-" + Guid.NewGuid().ToString("N");
        var previous = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        try
        {
            var tool = CreateTool();

            var result = await _sandbox.InvokeAsync(tool, new { command = $"env; echo \"direct=${{{name}:-unset}}\"" });

            Assert.DoesNotContain(value, result, StringComparison.Ordinal);
            Assert.Contains("direct=unset", result, StringComparison.Ordinal);
            var names = result.Split('\n')
                .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.StartsWith("direct=", StringComparison.Ordinal))
                .Select(line => line[..line.IndexOf('=', StringComparison.Ordinal)])
                .ToHashSet(StringComparer.Ordinal);

            // Bash itself adds PWD, SHLVL and _.
            Assert.Subset(new HashSet<string>(["PATH", "HOME", "LANG", "TERM", "PWD", "SHLVL", "_"], StringComparer.Ordinal), names);
            Assert.Contains("TERM=dumb\n", result, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, previous);
        }
    }

    [Fact]
    public async Task Bash_BackgroundProcess_ReturnsAfterGrace()
    {
        var tool = CreateTool();
        var stopwatch = Stopwatch.StartNew();

        var result = await _sandbox.InvokeAsync(tool, new { command = "sleep 30 & echo $! > child.pid; echo done" });

        stopwatch.Stop();
        var pid = ReadChildPid();
        try
        {
            Assert.Contains("done\n", result, StringComparison.Ordinal);
            Assert.Contains("Background processes still held the output open", result, StringComparison.Ordinal);
            Assert.EndsWith("[Exit code: 0]", result, StringComparison.Ordinal);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"The call took {stopwatch.Elapsed}.");
        }
        finally
        {
            // The tool leaves such processes running, so the test ends its own.
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
    }

    [Fact]
    public async Task Bash_TimeoutAboveMaximum_IsInvalidArgument()
    {
        var tool = CreateTool();

        var exception = await _sandbox.InvokeFailingAsync(tool, new { command = "true", timeout_seconds = 301 });

        Assert.Equal("invalid_argument", exception.Code);
    }

    private static BashTool CreateTool(Action<ToolOptions>? configure = null) =>
        new(ToolSandbox.Options(configure), TimeProvider.System, NullLogger<BashTool>.Instance);

    private int ReadChildPid() =>
        int.Parse(File.ReadAllText(Path.Join(_sandbox.WorkspacePath, "child.pid")).Trim(), CultureInfo.InvariantCulture);

    private static async Task WaitForFileAsync(string path)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            Assert.True(stopwatch.Elapsed < ToolSandbox.Timeout, $"'{path}' was not created within {ToolSandbox.Timeout}.");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the process has exited. A zombie that is not reaped yet counts as exited.</summary>
    private static async Task AssertProcessGoneAsync(int pid)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < ProcessGoneTimeout)
        {
            if (!IsRunning(pid))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Process {pid} is still running {ProcessGoneTimeout} after the tool returned.");
    }

    private static bool IsRunning(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }

        // The state follows the command name, which is in parentheses: "123 (sleep) S ...".
        var state = stat[(stat.LastIndexOf(')') + 2)..][0];
        return state is not ('Z' or 'X');
    }
}

using System.Diagnostics;
using System.Net;
using System.Text;

namespace AgentApi.Tests.Infrastructure;

/// <summary>
/// The service as a separate operating-system process, started from the test's output folder
/// with <c>dotnet AgentApi.dll</c>, so that a test can kill it with SIGKILL or stop it with
/// SIGTERM as an operator or a crash would.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int MaxLogLines = 2_000;

    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private readonly Lock _logLock = new();

    private ServiceProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the service on a free loopback port with <paramref name="settings"/> as environment
    /// variables (<c>Section:Key</c> names are written as <c>Section__Key</c>) and waits until
    /// <c>/health/ready</c> returns 200.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(IDictionary<string, string?> settings, TimeSpan? readyTimeout = null)
    {
        var port = LoopbackPort.PickFree();
        var address = new Uri($"http://127.0.0.1:{port}");
        var startInfo = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AgentApi.dll"));
        startInfo.ArgumentList.Add("--urls");
        startInfo.ArgumentList.Add(address.ToString().TrimEnd('/'));

        // Nothing of the test process's own configuration reaches the service.
        foreach (var name in startInfo.Environment.Keys.Where(IsServiceSetting).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        startInfo.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in settings)
        {
            startInfo.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("dotnet did not start.");
        var service = new ServiceProcess(process, address);
        process.OutputDataReceived += (_, line) => service.Append(line.Data);
        process.ErrorDataReceived += (_, line) => service.Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await service.WaitUntilReadyAsync(readyTimeout ?? TimeSpan.FromSeconds(60));
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    /// <summary>A client that sends <paramref name="apiKey"/> and has <see cref="TestTimeouts.Request"/> as its timeout.</summary>
    public HttpClient CreateClient(string apiKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TestTimeouts.Request };
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    /// <summary>Ends the process with SIGKILL, as a crash or the kernel's OOM killer would, and waits for it to go.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Sends SIGTERM, as systemd or Kubernetes would, and waits up to <paramref name="timeout"/> for the exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            // .NET's Process can only send SIGKILL, so the signal goes through kill(1).
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode;
    }

    /// <summary>The last lines the process printed, for a failure message.</summary>
    public string LogTail(int lines = 60)
    {
        lock (_logLock)
        {
            return string.Join('\n', _log.TakeLast(lines));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private static bool IsServiceSetting(string name) =>
        name.Contains("__", StringComparison.Ordinal) || name.StartsWith("ASPNETCORE_", StringComparison.Ordinal);

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.Enqueue(line);
            if (_log.Count > MaxLogLines)
            {
                _log.Dequeue();
            }
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {_process.ExitCode} during start:\n{LogTail()}");
            }

            try
            {
                using var response = await client.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The service was not ready after {timeout.TotalSeconds} s:\n{LogTail()}");
    }

}

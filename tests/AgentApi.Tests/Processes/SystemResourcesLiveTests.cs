using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Processes;

/// <summary>Runs the built service as a separate process pinned with <c>taskset</c>, so its affinity differs from the test's.</summary>
public sealed class SystemResourcesLiveTests
{
    private const string ApiKey = "live-test-key-8d2e4f6a1b3c5e7d";
    private const int MaxOutputChars = 8000;

    // Start-up applies the SQLite migrations and starts Hangfire, which can take tens of seconds on a loaded machine.
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ServiceUnderTasksetCpu0_SystemResources_ReportsAffinity0()
    {
        var taskset = FindExecutable("taskset")
            ?? throw new InvalidOperationException(
                "taskset was not found on PATH. It is part of util-linux; install it, for example with apt-get install util-linux.");
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-live-").FullName;
        var port = LoopbackPort.PickFree();
        var output = new StringBuilder();
        using var process = StartService(taskset, dataDirectory, port, output);

        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TestTimeouts.Request };
            await WaitUntilLiveAsync(client, process, output);
            client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);

            var resources = await client.GetFromJsonAsync<JsonElement>("/api/system/resources").WaitAsync(TestTimeouts.Request);

            Assert.Equal([0], resources.GetProperty("affinity").EnumerateArray().Select(cpu => cpu.GetInt32()));

            // .NET counts only the CPUs in the affinity mask.
            Assert.Equal(1, resources.GetProperty("processorCount").GetInt32());
            Assert.True(resources.TryGetProperty("cgroup", out _), "The response has no cgroup object.");
        }
        finally
        {
            await StopAsync(process);
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // The folder is under the system's temporary folder.
            }
        }
    }

    private static Process StartService(string taskset, string dataDirectory, int port, StringBuilder output)
    {
        var startInfo = new ProcessStartInfo(taskset)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDirectory,
        };
        foreach (var argument in new[] { "-c", "0", FindDotnetHost(), typeof(Program).Assembly.Location })
        {
            startInfo.ArgumentList.Add(argument);
        }

        // The embedded default, on loopback, with a known key and the simulated model.
        startInfo.Environment.Remove("ConnectionStrings__Postgres");
        startInfo.Environment.Remove("DOTNET_PROCESSOR_COUNT");
        startInfo.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        startInfo.Environment["Storage__DataDirectory"] = dataDirectory;
        startInfo.Environment["Auth__ApiKeys__0"] = ApiKey;
        startInfo.Environment["Models__Default__Provider"] = "simulated";

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, line) => Append(output, line.Data);
        process.ErrorDataReceived += (_, line) => Append(output, line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilLiveAsync(HttpClient client, Process process, StringBuilder output)
    {
        var deadline = TimeProvider.System.GetUtcNow() + StartupTimeout;
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            if (process.HasExited)
            {
                Assert.Fail($"The service exited with code {process.ExitCode} before it answered /health/live. Its output:\n{Snapshot(output)}");
            }

            try
            {
                using var response = await client.GetAsync("/health/live").WaitAsync(TestTimeouts.Request);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        Assert.Fail($"The service did not answer /health/live within {StartupTimeout.TotalSeconds} s. Its output:\n{Snapshot(output)}");
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync().WaitAsync(ExitTimeout);
    }

    private static string? FindExecutable(string name)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries);
        return directories.Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>Returns the <c>dotnet</c> host running the tests, so the service runs on the same runtime.</summary>
    private static string FindDotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }

        return FindExecutable("dotnet") ?? throw new InvalidOperationException("The dotnet host was not found on PATH.");
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
            if (output.Length > MaxOutputChars)
            {
                output.Remove(0, output.Length - MaxOutputChars);
            }
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The clients in a child process (this program started again in the <see cref="SubscriberHost"/>
/// role), so that the service's CPU and memory are measured apart from theirs. Latency is still
/// one clock's difference: <see cref="Stopwatch.GetTimestamp"/> reads CLOCK_MONOTONIC on Linux,
/// which every process on the machine shares, and <see cref="CheckClockAsync"/> verifies that.
/// </summary>
internal sealed class SubscriberProcess : ISubscribers
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private SubscriberProcess(Process process) => _process = process;

    /// <summary>
    /// The environment of a tuned client process. With the default gen0 budget of the workstation
    /// collector the 500 clients of the target row ran about 26 collections a second, most of
    /// them gen1. The shared array pool keeps 32 arrays of a size per partition by default, which
    /// is too few for the pipe buffers of 500 connections, so most rents allocated a new array.
    /// In one 10-second run the clients allocated 4.2 GB, and 1.4 GB with 4,096 arrays. Each
    /// connection also reads through a 64 KB <see cref="ReadAheadStream"/>, one socket receive for
    /// many 4 KB pipe segments.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Value)> TunedClientSettings =
    [
        ("DOTNET_GCgen0size", "0x4000000"),
        ("DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION", "4096"),
        (SubscriberHost.ReadAheadVariable, "65536"),
    ];

    /// <summary>Starts the child process and returns once all its clients are subscribed.</summary>
    public static async Task<SubscriberProcess> StartAsync(
        Uri hubUrl,
        string apiKey,
        int clients,
        long eventCount,
        bool batched,
        ClientProtocol protocol,
        ClientKind client,
        bool tuned,
        CancellationToken cancellationToken)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown.");
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(SubscriberProcess).Assembly.Location);
        }

        start.ArgumentList.Add(SubscriberHost.Command);
        start.ArgumentList.Add(hubUrl.ToString());
        start.ArgumentList.Add(clients.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(eventCount.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(batched ? SubscriberHost.BatchedMode : SubscriberHost.PerEventMode);
        start.ArgumentList.Add(BenchmarkOptions.ProtocolName(protocol));
        start.ArgumentList.Add(BenchmarkOptions.ClientName(client));
        start.Environment[SubscriberHost.ApiKeyVariable] = apiKey;

        // A client application usually runs with the workstation collector; the service keeps server GC.
        start.Environment["DOTNET_gcServer"] = "0";
        if (tuned)
        {
            foreach (var (name, value) in TunedClientSettings)
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"'{host}' did not start.");
        var subscribers = new SubscriberProcess(process);
        var ready = await subscribers.ReadLineAsync(cancellationToken).AsTask().WaitAsync(StartTimeout, cancellationToken);
        if (ready != SubscriberHost.Ready)
        {
            throw new InvalidOperationException($"The subscriber process sent '{ready}' instead of '{SubscriberHost.Ready}'.");
        }

        return subscribers;
    }

    /// <summary>
    /// Reads the child's <see cref="Stopwatch"/> timestamp between two of this process's own and
    /// returns the width of that window; throws when the child's reading falls outside it.
    /// </summary>
    public async Task<TimeSpan> CheckClockAsync(CancellationToken cancellationToken)
    {
        var before = Stopwatch.GetTimestamp();
        var child = long.Parse(await RequestAsync("clock", cancellationToken), CultureInfo.InvariantCulture);
        var after = Stopwatch.GetTimestamp();
        if (child < before || child > after)
        {
            throw new InvalidOperationException(
                $"The subscriber process's Stopwatch timestamp {child} is outside [{before}, {after}]: the two processes do not share a clock, so latencies would be wrong.");
        }

        return Stopwatch.GetElapsedTime(before, after);
    }

    public async Task<ReceivedCounts> GetCountsAsync(CancellationToken cancellationToken) =>
        Deserialize<ReceivedCounts>(await RequestAsync("counts", cancellationToken));

    public async Task StartMeasuringAsync(CancellationToken cancellationToken) =>
        await RequestAsync("start", cancellationToken);

    public async Task<SubscriberResult> FinishAsync(TimeSpan drain, CancellationToken cancellationToken)
    {
        var milliseconds = drain.TotalMilliseconds.ToString(CultureInfo.InvariantCulture);
        return Deserialize<SubscriberResult>(await RequestAsync($"finish {milliseconds}", cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // At the end of its input the child closes its connections and exits.
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(ExitTimeout);
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json) ?? throw new InvalidOperationException($"The subscriber process sent '{json}'.");

    private async Task<string> RequestAsync(string command, CancellationToken cancellationToken)
    {
        await _process.StandardInput.WriteLineAsync(command.AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        return await ReadLineAsync(cancellationToken);
    }

    private async ValueTask<string> ReadLineAsync(CancellationToken cancellationToken) =>
        await _process.StandardOutput.ReadLineAsync(cancellationToken)
            ?? throw new InvalidOperationException($"The subscriber process exited with code {(_process.HasExited ? _process.ExitCode : -1)}; its errors are above.");
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The child process side of <see cref="SubscriberProcess"/>: connects a <see cref="SubscriberPool"/>,
/// prints <c>ready</c>, then writes one reply line to standard output for each command line read
/// from standard input.
/// </summary>
internal static class SubscriberHost
{
    /// <summary>The first argument that starts this role: <c>subscribers HUB_URL CLIENTS EVENTS per-event|batched json|messagepack full|lean|parser</c>.</summary>
    public const string Command = "subscribers";

    public const string PerEventMode = "per-event";

    public const string BatchedMode = "batched";

    /// <summary>The environment variable that passes the API key, so that it does not show in the process list.</summary>
    public const string ApiKeyVariable = "HUBBENCH_API_KEY";

    /// <summary>The size in bytes of each connection's <see cref="ReadAheadStream"/>; unset or 0 for none.</summary>
    public const string ReadAheadVariable = "HUBBENCH_READ_AHEAD";

    public const string Ready = "ready";

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (args.Count != 6
            || args[3] is not (PerEventMode or BatchedMode)
            || args[4] is not ("json" or "messagepack")
            || args[5] is not ("full" or "lean" or "parser"))
        {
            await Console.Error.WriteLineAsync($"Usage: {Command} HUB_URL CLIENTS EVENTS {PerEventMode}|{BatchedMode} json|messagepack full|lean|parser (started by the benchmark, not by hand).");
            return 2;
        }

        var hubUrl = new Uri(args[0]);
        var clients = int.Parse(args[1], CultureInfo.InvariantCulture);
        var events = long.Parse(args[2], CultureInfo.InvariantCulture);
        var batched = args[3] == BatchedMode;
        var protocol = BenchmarkOptions.ParseProtocol(args[4]);
        var client = BenchmarkOptions.ParseClient(args[5]);
        var apiKey = Environment.GetEnvironmentVariable(ApiKeyVariable)
            ?? throw new InvalidOperationException($"The environment variable {ApiKeyVariable} is missing.");

        var readAheadBytes = Environment.GetEnvironmentVariable(ReadAheadVariable) is { } readAhead
            ? int.Parse(readAhead, CultureInfo.InvariantCulture)
            : 0;
        await using var pool = await SubscriberPool.ConnectAsync(
            hubUrl, apiKey, clients, events, batched, protocol, client, readAheadBytes, CancellationToken.None);
        Console.WriteLine(Ready);
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var (command, argument) = line.IndexOf(' ', StringComparison.Ordinal) is var space and >= 0
                ? (line[..space], line[(space + 1)..])
                : (line, string.Empty);
            var reply = command switch
            {
                "clock" => Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture),
                "counts" => JsonSerializer.Serialize(await pool.GetCountsAsync(CancellationToken.None)),
                "start" => await StartAsync(pool),
                "finish" => JsonSerializer.Serialize(await pool.FinishAsync(
                    TimeSpan.FromMilliseconds(double.Parse(argument, CultureInfo.InvariantCulture)),
                    CancellationToken.None)),
                _ => throw new InvalidOperationException($"Command '{command}' is unknown."),
            };
            Console.WriteLine(reply);
        }

        return 0;
    }

    private static async Task<string> StartAsync(SubscriberPool pool)
    {
        await pool.StartMeasuringAsync(CancellationToken.None);
        return "started";
    }
}

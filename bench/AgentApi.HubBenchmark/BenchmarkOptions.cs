using System.Globalization;

namespace AgentApi.HubBenchmark;

/// <summary>Command line options of a benchmark run; every option has a default.</summary>
internal sealed record BenchmarkOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release -- [options]
          --clients N          SignalR clients that call SubscribeAll (default 500)
          --rate R             events published per second (default 5000)
          --duration S         seconds of publishing (default 10)
          --drain S            seconds to wait after publishing for late events (default 5)
          --warmup S           seconds of publishing at the measured rate before the measurement,
                               after the slow warm-up rounds; 0 for none (default 3)
          --tasks T            task ids the events are spread over (default 1000)
          --batch-interval MS  milliseconds between two publish calls, each with every event due (default 10)
          --in-process         run the clients in the service's process instead of a child process
          --batched            clients call SubscribeAllBatched and receive taskEvents arrays
          --flush-interval MS  with --batched: Events:BatchInterval, milliseconds (default: the service's, 20)
          --max-batch-size N   with --batched: Events:MaxBatchSize, events (default: the service's, 500)
          --protocol P         the clients' hub protocol: json or messagepack (default json)
          --client K           how the clients bind each event: full binds every field, lean reads
                               only data.index and data.sentAt, parser reads those two where the
                               protocol parses each taskEvent message and calls no handler
                               (messagepack, per event only; default full)
          --tuned-clients      run the client process with a 64 MiB gen0 budget, 4096 arrays per
                               ArrayPool partition and a 64 KB read buffer per connection, so that
                               it spends less of the shared CPU
        Storage is embedded (SQLite in a temporary folder) unless ConnectionStrings__Postgres is set.
        """;

    /// <summary>SignalR clients that call <c>SubscribeAll</c>.</summary>
    public int Clients { get; init; } = 500;

    /// <summary>Events published per second.</summary>
    public int Rate { get; init; } = 5_000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait after the last publish for events still on their way.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long to publish at <see cref="Rate"/>, unmeasured, before the measured phase, so that
    /// both processes reach their steady state: thread pools, socket buffers, collector budgets
    /// and the JIT's work on the paths that only a high rate takes.
    /// </summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Task ids the events are spread over, each with its own sequence.</summary>
    public int Tasks { get; init; } = 1_000;

    /// <summary>Time between two calls of <c>TaskEventBus.Publish</c>.</summary>
    public TimeSpan BatchInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Whether the clients run in the service's own process rather than in a child process.</summary>
    public bool ClientsInProcess { get; init; }

    /// <summary>Whether the clients call <c>SubscribeAllBatched</c> rather than <c>SubscribeAll</c>.</summary>
    public bool Batched { get; init; }

    /// <summary>The service's <c>Events:BatchInterval</c>, or null to keep its default.</summary>
    public TimeSpan? FlushInterval { get; init; }

    /// <summary>The service's <c>Events:MaxBatchSize</c>, or null to keep its default.</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>The hub protocol the clients use.</summary>
    public ClientProtocol Protocol { get; init; } = ClientProtocol.Json;

    /// <summary>How the clients bind each event they receive.</summary>
    public ClientKind Client { get; init; } = ClientKind.Full;

    /// <summary>Whether the client process runs with the collector, array pool and read buffer settings of <see cref="SubscriberProcess.TunedClientSettings"/>.</summary>
    public bool TunedClients { get; init; }

    /// <summary>The hub method the clients call.</summary>
    public string SubscribeMethod => Batched ? "SubscribeAllBatched" : "SubscribeAll";

    /// <summary>Events published in the measured phase: the rate times the duration.</summary>
    public long EventCount => (long)Math.Round(Rate * Duration.TotalSeconds);

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> naming the option that is invalid.</summary>
    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchmarkOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name == "--in-process")
            {
                options = options with { ClientsInProcess = true };
                continue;
            }

            if (name == "--batched")
            {
                options = options with { Batched = true };
                continue;
            }

            if (name == "--tuned-clients")
            {
                options = options with { TunedClients = true };
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"Option '{name}' is unknown or has no value.");
            }

            var value = args[++i];
            options = name switch
            {
                "--clients" => options with { Clients = ParsePositive(name, value) },
                "--rate" => options with { Rate = ParsePositive(name, value) },
                "--duration" => options with { Duration = TimeSpan.FromSeconds(ParsePositive(name, value)) },
                "--drain" => options with { Drain = TimeSpan.FromSeconds(ParsePositive(name, value)) },
                "--warmup" => options with { Warmup = TimeSpan.FromSeconds(ParseNonNegative(name, value)) },
                "--tasks" => options with { Tasks = ParsePositive(name, value) },
                "--batch-interval" => options with { BatchInterval = TimeSpan.FromMilliseconds(ParsePositive(name, value)) },
                "--flush-interval" => options with { FlushInterval = TimeSpan.FromMilliseconds(ParsePositive(name, value)) },
                "--max-batch-size" => options with { MaxBatchSize = ParsePositive(name, value) },
                "--protocol" => options with { Protocol = ParseProtocol(value) },
                "--client" => options with { Client = ParseClient(value) },
                _ => throw new ArgumentException($"Option '{name}' is unknown."),
            };
        }

        if (!options.Batched && (options.FlushInterval is not null || options.MaxBatchSize is not null))
        {
            throw new ArgumentException("Options '--flush-interval' and '--max-batch-size' apply to batched delivery only; add '--batched'.");
        }

        if (options.Client == ClientKind.Parser && (options.Batched || options.Protocol != ClientProtocol.MessagePack))
        {
            throw new ArgumentException("Option '--client parser' reads single taskEvent messages over MessagePack; add '--protocol messagepack' and remove '--batched'.");
        }

        if (options.TunedClients && options.ClientsInProcess)
        {
            throw new ArgumentException("Option '--tuned-clients' applies to the client process only; remove '--in-process'.");
        }

        return options;
    }

    /// <summary>Parses <c>json</c> or <c>messagepack</c>, the names <see cref="ProtocolName"/> returns.</summary>
    public static ClientProtocol ParseProtocol(string value) => value switch
    {
        "json" => ClientProtocol.Json,
        "messagepack" => ClientProtocol.MessagePack,
        _ => throw new ArgumentException($"Option '--protocol' is '{value}'; it must be json or messagepack."),
    };

    public static string ProtocolName(ClientProtocol protocol) => protocol == ClientProtocol.MessagePack ? "messagepack" : "json";

    /// <summary>Parses <c>full</c>, <c>lean</c> or <c>parser</c>, the names <see cref="ClientName"/> returns.</summary>
    public static ClientKind ParseClient(string value) => value switch
    {
        "full" => ClientKind.Full,
        "lean" => ClientKind.Lean,
        "parser" => ClientKind.Parser,
        _ => throw new ArgumentException($"Option '--client' has the invalid value '{value}'. Use full, lean or parser."),
    };

    public static string ClientName(ClientKind client) => client switch
    {
        ClientKind.Lean => "lean",
        ClientKind.Parser => "parser",
        _ => "full",
    };

    private static int ParseNonNegative(string name, string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            throw new ArgumentException($"Option '{name}' is '{value}'; it must be a whole number of 0 or more.");
        }

        return number;
    }

    private static int ParsePositive(string name, string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            throw new ArgumentException($"Option '{name}' is '{value}'; it must be a whole number of 1 or more.");
        }

        return number;
    }
}

/// <summary>The SignalR hub protocol of the benchmark's clients.</summary>
internal enum ClientProtocol
{
    Json,
    MessagePack,
}

/// <summary>How the benchmark's clients bind each event they receive.</summary>
internal enum ClientKind
{
    /// <summary>Every field, into <see cref="ReceivedEvent"/>, as a .NET dashboard would.</summary>
    Full,

    /// <summary>Only <c>data.index</c> and <c>data.sentAt</c>, into <see cref="LeanReceivedEvent"/>.</summary>
    Lean,

    /// <summary>
    /// The same two values, read by <see cref="ParsingHubProtocol"/> as each <c>taskEvent</c>
    /// message is parsed, with no handler call: what the service delivers, without the client's
    /// dispatch per invocation.
    /// </summary>
    Parser,
}

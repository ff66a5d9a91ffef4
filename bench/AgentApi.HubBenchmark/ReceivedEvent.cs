using System.Text.Json.Serialization;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The <c>taskEvent</c> payload, and each item of a <c>taskEvents</c> batch, every field bound
/// as a .NET dashboard would. A class with setters rather than a positional record or init-only
/// properties: System.Text.Json binds both of those through its parameterized-constructor path,
/// which made the clients' parsing twice as costly.
/// </summary>
internal sealed class ReceivedEvent
{
    public Guid TaskId { get; set; }

    public long Sequence { get; set; }

    public string Type { get; set; } = "";

    public DateTimeOffset Timestamp { get; set; }

    public ReceivedEventData? Data { get; set; }
}

/// <summary>The benchmark's own event data: the event's global index and its publish time in Stopwatch ticks.</summary>
internal sealed class ReceivedEventData
{
    public long Index { get; set; }

    public long SentAt { get; set; }
}

/// <summary>
/// System.Text.Json metadata for the clients' payloads, generated at build time, which the
/// clients' JSON hub protocol binds with instead of reflection. Binding costs about the same
/// either way (docs/benchmarks.md): the generator's fast path serves serialization only.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ReceivedEvent))]
[JsonSerializable(typeof(ReceivedEvent[]))]
internal sealed partial class ReceivedEventJsonContext : JsonSerializerContext;

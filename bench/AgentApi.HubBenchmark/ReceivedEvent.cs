using System.Text.Json.Serialization;
using MessagePack;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The <c>taskEvent</c> payload, and each item of a <c>taskEvents</c> batch, every field bound
/// as a .NET dashboard would. A class with setters rather than a positional record or init-only
/// properties: System.Text.Json binds both of those through its parameterized-constructor path,
/// which made the clients' parsing twice as costly. The MessagePack keys are the hub's camelCase
/// names. Public, because MessagePack-CSharp's dynamic resolver binds public types only.
/// </summary>
[MessagePackObject]
public sealed class ReceivedEvent
{
    [Key("taskId")]
    public Guid TaskId { get; set; }

    [Key("sequence")]
    public long Sequence { get; set; }

    [Key("type")]
    public string Type { get; set; } = "";

    [Key("timestamp")]
    public DateTimeOffset Timestamp { get; set; }

    [Key("data")]
    public ReceivedEventData? Data { get; set; }
}

/// <summary>The benchmark's own event data: the event's global index and its publish time in Stopwatch ticks.</summary>
[MessagePackObject]
public sealed class ReceivedEventData
{
    [Key("index")]
    public long Index { get; set; }

    [Key("sentAt")]
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
[JsonSerializable(typeof(LeanReceivedEvent))]
[JsonSerializable(typeof(LeanReceivedEvent[]))]
internal sealed partial class ReceivedEventJsonContext : JsonSerializerContext;

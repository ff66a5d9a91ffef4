using System.Text.Json;
using System.Text.Json.Serialization;
using AgentApi.Tasks;

namespace AgentApi.Events;

/// <summary>
/// One notification between instances: the sender and some of its events. PostgreSQL limits a
/// notification to 8,000 bytes, so an event whose data does not fit travels without it and the
/// receiver reads it from the store.
/// </summary>
internal sealed class RelayPayload
{
    /// <summary>Room left for the sender and the JSON around the events.</summary>
    public const int MaxBytes = 7_600;

    [JsonPropertyName("i")]
    public required string Instance { get; init; }

    [JsonPropertyName("e")]
    public required List<RelayEvent> Events { get; init; }

    public static IEnumerable<string> Build(string instance, IReadOnlyList<TaskEvent> events)
    {
        List<RelayEvent> batch = [];
        var size = 0;
        foreach (var taskEvent in events)
        {
            var relayEvent = RelayEvent.From(taskEvent);
            var eventSize = SizeOf(relayEvent);
            if (eventSize > MaxBytes - 200)
            {
                relayEvent = relayEvent with { DataJson = null, DataOmitted = true };
                eventSize = SizeOf(relayEvent);
            }

            if (size + eventSize > MaxBytes && batch.Count > 0)
            {
                yield return Serialize(instance, batch);
                batch = [];
                size = 0;
            }

            batch.Add(relayEvent);
            size += eventSize;
        }

        if (batch.Count > 0)
        {
            yield return Serialize(instance, batch);
        }
    }

    /// <summary>The event's size in the payload, with the comma before it.</summary>
    private static int SizeOf(RelayEvent relayEvent) => JsonSerializer.SerializeToUtf8Bytes(relayEvent).Length + 1;

    public static RelayPayload? Parse(string payload) => JsonSerializer.Deserialize<RelayPayload>(payload);

    private static string Serialize(string instance, List<RelayEvent> batch) =>
        JsonSerializer.Serialize(new RelayPayload { Instance = instance, Events = batch });
}

/// <summary>One event in a <see cref="RelayPayload"/>; <see cref="DataJson"/> is null when the data was left out.</summary>
internal sealed record RelayEvent(
    [property: JsonPropertyName("t")] Guid TaskId,
    [property: JsonPropertyName("s")] long Sequence,
    [property: JsonPropertyName("y")] string Type,
    [property: JsonPropertyName("ts")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("d")] string? DataJson,
    [property: JsonPropertyName("o")] bool DataOmitted = false)
{
    public static RelayEvent From(TaskEvent taskEvent) =>
        new(taskEvent.TaskId, taskEvent.Sequence, taskEvent.Type, taskEvent.Timestamp, taskEvent.DataJson);

    public TaskEvent ToTaskEvent() => new()
    {
        TaskId = TaskId,
        Sequence = Sequence,
        Type = Type,
        Timestamp = Timestamp,
        DataJson = DataJson,
    };
}

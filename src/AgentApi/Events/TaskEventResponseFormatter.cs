using System.Text.Json;
using AgentApi.Tasks;
using MessagePack;
using MessagePack.Formatters;

namespace AgentApi.Events;

/// <summary>
/// Writes a <see cref="TaskEventResponse"/> as a MessagePack map with the keys that JSON clients
/// see: <c>taskId</c> (the id as a string, as in JSON), <c>sequence</c>, <c>type</c>,
/// <c>timestamp</c> (the timestamp extension, see <see cref="TimestampFormatter"/>) and
/// <c>data</c> (see <see cref="JsonElementFormatter"/>, nil when the event has none).
/// </summary>
public sealed class TaskEventResponseFormatter : IMessagePackFormatter<TaskEventResponse?>
{
    public static readonly TaskEventResponseFormatter Instance = new();

    private const string TaskIdKey = "taskId";
    private const string SequenceKey = "sequence";
    private const string TypeKey = "type";
    private const string TimestampKey = "timestamp";
    private const string DataKey = "data";

    public void Serialize(ref MessagePackWriter writer, TaskEventResponse? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteMapHeader(5);
        writer.Write(TaskIdKey);
        writer.Write(value.TaskId.ToString("D"));
        writer.Write(SequenceKey);
        writer.Write(value.Sequence);
        writer.Write(TypeKey);
        writer.Write(value.Type);
        writer.Write(TimestampKey);
        TimestampFormatter.Instance.Serialize(ref writer, value.Timestamp, options);
        writer.Write(DataKey);
        if (value.Data is { } data)
        {
            JsonElementFormatter.Instance.Serialize(ref writer, data, options);
        }
        else
        {
            writer.WriteNil();
        }
    }

    /// <summary>Reads the map written by <see cref="Serialize"/>; keys it does not know are skipped.</summary>
    public TaskEventResponse? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        Guid? taskId = null;
        long? sequence = null;
        string? type = null;
        DateTimeOffset? timestamp = null;
        JsonElement? data = null;
        var count = reader.ReadMapHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            for (var i = 0; i < count; i++)
            {
                switch (reader.ReadString())
                {
                    case TaskIdKey:
                        taskId = Guid.Parse(reader.ReadString() ?? throw Missing(TaskIdKey));
                        break;
                    case SequenceKey:
                        sequence = reader.ReadInt64();
                        break;
                    case TypeKey:
                        type = reader.ReadString();
                        break;
                    case TimestampKey:
                        timestamp = TimestampFormatter.Instance.Deserialize(ref reader, options);
                        break;
                    case DataKey:
                        data = reader.TryReadNil() ? null : JsonElementFormatter.Instance.Deserialize(ref reader, options);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        finally
        {
            reader.Depth--;
        }

        return new TaskEventResponse(
            taskId ?? throw Missing(TaskIdKey),
            sequence ?? throw Missing(SequenceKey),
            type ?? throw Missing(TypeKey),
            timestamp ?? throw Missing(TimestampKey),
            data);
    }

    private static MessagePackSerializationException Missing(string key) =>
        new($"A MessagePack task event has no '{key}'; taskId, sequence, type and timestamp are required.");
}

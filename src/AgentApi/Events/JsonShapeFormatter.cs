using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;

namespace AgentApi.Events;

/// <summary>
/// Writes a value as the MessagePack equivalent of its JSON form, the one that the JSON hub
/// protocol sends (System.Text.Json, camelCase names, nulls written), so that clients of both
/// protocols see the same keys and nesting. Meant for rare messages such as <c>laneChanged</c>:
/// each call serializes to a <see cref="JsonElement"/> first.
/// </summary>
public sealed class JsonShapeFormatter<T> : IMessagePackFormatter<T?>
{
    public static readonly JsonShapeFormatter<T> Instance = new();

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public void Serialize(ref MessagePackWriter writer, T? value, MessagePackSerializerOptions options) =>
        JsonElementFormatter.Instance.Serialize(ref writer, JsonSerializer.SerializeToElement(value, JsonOptions), options);

    public T? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        JsonElementFormatter.Instance.Deserialize(ref reader, options).Deserialize<T>(JsonOptions);
}

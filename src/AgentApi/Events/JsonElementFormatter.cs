using System.Buffers;
using System.Globalization;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;

namespace AgentApi.Events;

/// <summary>
/// Writes a <see cref="JsonElement"/> as the equivalent MessagePack value, and reads any
/// MessagePack value that has a JSON equivalent back into a <see cref="JsonElement"/>. Objects
/// become maps with string keys, arrays become arrays, and strings, booleans and null keep their
/// kind. A number is written as a 64-bit integer when it is a whole number in the range of
/// <see cref="long"/> or <see cref="ulong"/>, and as a 64-bit float otherwise, so a fraction
/// with more than about 17 significant digits is rounded, as JavaScript's <c>JSON.parse</c>
/// rounds it. Reading also accepts binary, as a base64 string, and the timestamp extension, as an
/// ISO 8601 string, which is how System.Text.Json writes byte arrays and dates.
/// </summary>
public sealed class JsonElementFormatter : IMessagePackFormatter<JsonElement>
{
    public static readonly JsonElementFormatter Instance = new();

    private const sbyte TimestampExtensionType = -1;

    public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteMapHeader(value.GetPropertyCount());
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Serialize(ref writer, property.Value, options);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Serialize(ref writer, item, options);
                }

                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number:
                WriteNumber(ref writer, value);
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            case JsonValueKind.Null:
            case JsonValueKind.Undefined:
                // Undefined is default(JsonElement), which has no document behind it.
                writer.WriteNil();
                break;
            default:
                throw new MessagePackSerializationException($"A JsonElement of kind {value.ValueKind} has no MessagePack equivalent.");
        }
    }

    public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            ReadValue(ref reader, json, options);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void WriteNumber(ref MessagePackWriter writer, JsonElement value)
    {
        if (value.TryGetInt64(out var integer))
        {
            writer.Write(integer);
        }
        else if (value.TryGetUInt64(out var unsigned))
        {
            writer.Write(unsigned);
        }
        else if (value.TryGetDouble(out var number) && double.IsFinite(number))
        {
            writer.Write(number);
        }
        else
        {
            // NOTE: a number beyond the range of a 64-bit float (1e400) is sent as its JSON text,
            // a string, because no MessagePack number can represent it.
            writer.Write(value.GetRawText());
        }
    }

    private static void ReadValue(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    json.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    json.WriteNumberValue(reader.ReadInt64());
                }

                break;
            case MessagePackType.Float:
                json.WriteNumberValue(ReadFiniteDouble(ref reader));
                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Binary:
                // As System.Text.Json writes a byte array.
                json.WriteBase64StringValue(reader.ReadBytes()!.Value.ToArray());
                break;
            case MessagePackType.Array:
                ReadArray(ref reader, json, options);
                break;
            case MessagePackType.Map:
                ReadMap(ref reader, json, options);
                break;
            case MessagePackType.Extension when reader.CreatePeekReader().ReadExtensionFormatHeader().TypeCode == TimestampExtensionType:
                // As System.Text.Json writes a DateTime: ISO 8601, UTC.
                json.WriteStringValue(reader.ReadDateTime());
                break;
            default:
                throw new MessagePackSerializationException(
                    $"A MessagePack {reader.NextMessagePackType} has no JSON equivalent, so it cannot be read into a JsonElement.");
        }
    }

    private static double ReadFiniteDouble(ref MessagePackReader reader)
    {
        var number = reader.ReadDouble();
        if (!double.IsFinite(number))
        {
            throw new MessagePackSerializationException(
                $"The MessagePack float {number.ToString(CultureInfo.InvariantCulture)} has no JSON equivalent, so it cannot be read into a JsonElement.");
        }

        return number;
    }

    private static void ReadArray(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options)
    {
        var count = reader.ReadArrayHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            json.WriteStartArray();
            for (var i = 0; i < count; i++)
            {
                ReadValue(ref reader, json, options);
            }

            json.WriteEndArray();
        }
        finally
        {
            reader.Depth--;
        }
    }

    private static void ReadMap(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options)
    {
        var count = reader.ReadMapHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            json.WriteStartObject();
            for (var i = 0; i < count; i++)
            {
                if (reader.NextMessagePackType != MessagePackType.String)
                {
                    throw new MessagePackSerializationException(
                        $"A MessagePack map has a key of type {reader.NextMessagePackType}; a JSON object's keys are strings, so it cannot be read into a JsonElement.");
                }

                json.WritePropertyName(reader.ReadString()!);
                ReadValue(ref reader, json, options);
            }

            json.WriteEndObject();
        }
        finally
        {
            reader.Depth--;
        }
    }
}

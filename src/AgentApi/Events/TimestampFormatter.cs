using MessagePack;
using MessagePack.Formatters;

namespace AgentApi.Events;

/// <summary>
/// Writes a <see cref="DateTimeOffset"/> as the MessagePack timestamp extension (type -1) of its
/// UTC instant, to the 100 ns tick, which MessagePack-CSharp reads as a UTC <see cref="DateTime"/>
/// and JavaScript MessagePack clients as a <c>Date</c>, to the millisecond. The offset is not
/// kept: the service's timestamps are UTC. Reads the extension back with offset zero.
/// </summary>
/// <remarks>NOTE: the JavaScript reading is that library's documented default, not tested here.</remarks>
public sealed class TimestampFormatter : IMessagePackFormatter<DateTimeOffset>
{
    public static readonly TimestampFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, DateTimeOffset value, MessagePackSerializerOptions options) =>
        writer.Write(value.UtcDateTime);

    public DateTimeOffset Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        new(reader.ReadDateTime(), TimeSpan.Zero);
}

using System.Buffers;
using System.Text.Json;
using AgentApi.Events;
using MessagePack;

namespace AgentApi.Tests.Events;

public sealed class JsonElementFormatterTests
{
    private static readonly MessagePackSerializerOptions Options = HubMessagePack.SerializerOptions;

    [Theory]
    [InlineData("""{"a":1,"b":[true,false,null],"c":{"d":"e","f":{}},"g":[]}""")]
    [InlineData("""[0,-1,9223372036854775807,-9223372036854775808,18446744073709551615]""")]
    [InlineData("""[0.1,-2.25,1.5e300,5e-324,2.0,1e2]""")]
    [InlineData("""{"text":"quote \" backslash \\ unicode é 漢字 😀 \u0000","":""}""")]
    [InlineData("\"bare\"")]
    [InlineData("null")]
    [InlineData("true")]
    public void RoundTrip_JsonValue_IsEqual(string json)
    {
        using var document = JsonDocument.Parse(json);

        var bytes = MessagePackSerializer.Serialize(document.RootElement, Options);
        var read = MessagePackSerializer.Deserialize<JsonElement>(bytes, Options);

        Assert.True(JsonElement.DeepEquals(document.RootElement, read), $"Wrote {json}, read {read.GetRawText()}.");
    }

    [Theory]
    [InlineData("42", MessagePackType.Integer)]
    [InlineData("18446744073709551615", MessagePackType.Integer)]
    [InlineData("2.0", MessagePackType.Float)]
    [InlineData("0.5", MessagePackType.Float)]
    [InlineData("\"x\"", MessagePackType.String)]
    [InlineData("{}", MessagePackType.Map)]
    [InlineData("[]", MessagePackType.Array)]
    [InlineData("null", MessagePackType.Nil)]
    [InlineData("false", MessagePackType.Boolean)]
    public void Serialize_JsonValue_WritesMessagePackType(string json, MessagePackType expected)
    {
        using var document = JsonDocument.Parse(json);

        var bytes = MessagePackSerializer.Serialize(document.RootElement, Options);

        Assert.Equal(expected, new MessagePackReader(bytes).NextMessagePackType);
    }

    [Fact]
    public void Serialize_NumberBeyondDouble_WritesItsText()
    {
        using var document = JsonDocument.Parse("1e400");

        var bytes = MessagePackSerializer.Serialize(document.RootElement, Options);

        Assert.Equal("1e400", MessagePackSerializer.Deserialize<string>(bytes, Options));
    }

    [Fact]
    public void Deserialize_TimestampAndBinary_ReadsJsonStrings()
    {
        var timestamp = new DateTime(2026, 12, 4, 22, 30, 15, DateTimeKind.Utc).AddTicks(1_234_567);
        var bytes = MessagePackSerializer.Serialize(new object[] { timestamp, new byte[] { 1, 2, 255 } }, Options);

        var read = MessagePackSerializer.Deserialize<JsonElement>(bytes, Options);

        Assert.Equal(timestamp, read[0].GetDateTime().ToUniversalTime());
        Assert.Equal([1, 2, 255], read[1].GetBytesFromBase64());
    }

    [Fact]
    public void Deserialize_IntegerMapKey_Fails()
    {
        var bytes = MessagePackSerializer.Serialize(new Dictionary<int, string> { [1] = "one" }, Options);

        var exception = Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<JsonElement>(bytes, Options));

        Assert.Contains("keys are strings", exception.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_NotANumber_Fails()
    {
        var bytes = MessagePackSerializer.Serialize(double.NaN, Options);

        var exception = Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<JsonElement>(bytes, Options));

        Assert.Contains("no JSON equivalent", exception.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_NestingBeyondLimit_Fails()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        for (var i = 0; i < 600; i++)
        {
            writer.WriteArrayHeader(1);
        }

        writer.WriteNil();
        writer.Flush();
        var bytes = buffer.WrittenMemory;

        Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<JsonElement>(bytes, Options));
    }
}

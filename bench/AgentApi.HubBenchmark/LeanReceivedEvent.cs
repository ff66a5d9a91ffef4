using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentApi.Events;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The <c>taskEvent</c> payload, and each item of a <c>taskEvents</c> batch, as the lean client
/// binds it: only <c>data.index</c> and <c>data.sentAt</c>, the event's global index and its
/// publish time in Stopwatch ticks, each null when the event lacks it. The benchmark measures the
/// service's delivery, and binding every field into <see cref="ReceivedEvent"/> made the clients'
/// process the bottleneck. The lean client still runs the real SignalR client, hub protocol and
/// transport, and skips only the fields that the measurement does not read: MessagePack through
/// <see cref="LeanReceivedEventFormatter"/>, JSON through <see cref="LeanReceivedEventJsonConverter"/>.
/// </summary>
/// <remarks>
/// A struct with the two values in it, so that reading an event allocates nothing: a batch is one
/// array of these.
/// </remarks>
[JsonConverter(typeof(LeanReceivedEventJsonConverter))]
internal struct LeanReceivedEvent
{
    public long? Index { get; set; }

    public long? SentAt { get; set; }
}

/// <summary>
/// Reads a task event map, as <see cref="TaskEventResponseFormatter"/> writes it, into a
/// <see cref="LeanReceivedEvent"/>. It decodes <c>data.index</c> and <c>data.sentAt</c> when they
/// are integers and allocates nothing. When the event lies inside the reader's current buffer
/// segment, <see cref="LeanEventSpanReader"/> reads it from that span. Otherwise the slow path
/// compares keys as UTF-8 bytes and passes every other key and value to
/// <c>MessagePackReader.Skip</c>. <see cref="Serialize"/> throws
/// <see cref="NotSupportedException"/>, because the clients only receive events.
/// </summary>
internal sealed class LeanReceivedEventFormatter : IMessagePackFormatter<LeanReceivedEvent>
{
    public static readonly LeanReceivedEventFormatter Instance = new();

    /// <summary>
    /// The service's <see cref="HubMessagePack.SerializerOptions"/> with this formatter resolved
    /// first. <c>WithResolver</c> keeps the other settings, so the lean client reads with the same
    /// security settings (untrusted data) as the full one.
    /// </summary>
    public static MessagePackSerializerOptions SerializerOptions { get; } = HubMessagePack.SerializerOptions.WithResolver(
        CompositeResolver.Create([Instance, LeanReceivedEventArrayFormatter.Instance], [HubMessagePack.SerializerOptions.Resolver]));

    /// <summary>The length in bytes of the longest key this formatter reads, <c>sentAt</c>.</summary>
    private const int MaxKeyLength = 6;

    private enum Key
    {
        Other,
        Data,
        Index,
        SentAt,
    }

    public void Serialize(ref MessagePackWriter writer, LeanReceivedEvent value, MessagePackSerializerOptions options) =>
        throw new NotSupportedException($"{nameof(LeanReceivedEvent)} is for reading received events only.");

    public LeanReceivedEvent Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var taskEvent = default(LeanReceivedEvent);
        if (reader.TryReadNil())
        {
            return taskEvent;
        }

        if (LeanEventSpanReader.TryRead(UnreadSpan(ref reader), out taskEvent, out var length))
        {
            reader.ReadRaw(length);
            return taskEvent;
        }

        return ReadWithReader(ref reader, options);
    }

    /// <summary>The rest of the reader's current buffer segment.</summary>
    internal static ReadOnlySpan<byte> UnreadSpan(ref MessagePackReader reader) =>
        reader.Sequence.Slice(reader.Position).FirstSpan;

    /// <summary>The slow path: reads the event with <c>MessagePackReader</c>, across segments.</summary>
    internal static LeanReceivedEvent ReadWithReader(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var taskEvent = default(LeanReceivedEvent);
        if (reader.TryReadNil())
        {
            return taskEvent;
        }

        var count = reader.ReadMapHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (ReadKey(ref reader) == Key.Data)
                {
                    ReadData(ref reader, options, ref taskEvent);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        finally
        {
            reader.Depth--;
        }

        return taskEvent;
    }

    /// <summary>Reads the event's <c>data</c> value into <paramref name="taskEvent"/>, or skips it when it is not a map.</summary>
    private static void ReadData(ref MessagePackReader reader, MessagePackSerializerOptions options, ref LeanReceivedEvent taskEvent)
    {
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            reader.Skip();
            return;
        }

        var count = reader.ReadMapHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var key = ReadKey(ref reader);
                if (key is not (Key.Index or Key.SentAt) || reader.NextMessagePackType != MessagePackType.Integer)
                {
                    reader.Skip();
                }
                else if (key == Key.Index)
                {
                    taskEvent.Index = reader.ReadInt64();
                }
                else
                {
                    taskEvent.SentAt = reader.ReadInt64();
                }
            }
        }
        finally
        {
            reader.Depth--;
        }
    }

    /// <summary>Reads a map key, a string or nil, and classifies it as one of the keys this formatter decodes or as other.</summary>
    private static Key ReadKey(ref MessagePackReader reader)
    {
        if (reader.TryReadStringSpan(out var span))
        {
            return Classify(span);
        }

        // TryReadStringSpan returns false for a nil key and for a key that spans two buffer
        // segments, which the copy below joins.
        if (reader.ReadStringSequence() is not { Length: <= MaxKeyLength } sequence)
        {
            return Key.Other;
        }

        Span<byte> copy = stackalloc byte[MaxKeyLength];
        var length = (int)sequence.Length;
        sequence.CopyTo(copy);
        return Classify(copy[..length]);
    }

    private static Key Classify(ReadOnlySpan<byte> key)
    {
        if (key.SequenceEqual("data"u8))
        {
            return Key.Data;
        }

        if (key.SequenceEqual("index"u8))
        {
            return Key.Index;
        }

        return key.SequenceEqual("sentAt"u8) ? Key.SentAt : Key.Other;
    }
}

/// <summary>
/// Reads a <c>taskEvents</c> batch into <see cref="LeanReceivedEvent"/>s. It hands
/// <see cref="LeanEventSpanReader"/> each buffer segment once and reads as many events from it as
/// lie wholly inside, then advances the reader past them in one step. An event that crosses into the
/// next segment, or that the fast path does not read, goes through the formatter's slow path.
/// </summary>
internal sealed class LeanReceivedEventArrayFormatter : IMessagePackFormatter<LeanReceivedEvent[]?>
{
    public static readonly LeanReceivedEventArrayFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, LeanReceivedEvent[]? value, MessagePackSerializerOptions options) =>
        throw new NotSupportedException($"{nameof(LeanReceivedEvent)} is for reading received events only.");

    public LeanReceivedEvent[]? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        var count = reader.ReadArrayHeader();
        var events = new LeanReceivedEvent[count];
        options.Security.DepthStep(ref reader);
        try
        {
            var read = 0;
            while (read < count)
            {
                var span = LeanReceivedEventFormatter.UnreadSpan(ref reader);
                var consumed = 0;
                while (read < count && LeanEventSpanReader.TryRead(span[consumed..], out events[read], out var length))
                {
                    read++;
                    consumed += length;
                }

                if (consumed > 0)
                {
                    reader.ReadRaw(consumed);
                }
                else
                {
                    events[read++] = LeanReceivedEventFormatter.ReadWithReader(ref reader, options);
                }
            }
        }
        finally
        {
            reader.Depth--;
        }

        return events;
    }
}

/// <summary>
/// Reads a JSON task event into a <see cref="LeanReceivedEvent"/>: <c>data.index</c> and
/// <c>data.sentAt</c> where they are integers, with every other property skipped.
/// <see cref="Write"/> throws <see cref="NotSupportedException"/>, because the clients only
/// receive events.
/// </summary>
internal sealed class LeanReceivedEventJsonConverter : JsonConverter<LeanReceivedEvent>
{
    public override LeanReceivedEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"A task event is a JSON object, not {reader.TokenType}.");
        }

        var taskEvent = default(LeanReceivedEvent);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isData = reader.ValueTextEquals("data"u8);
            reader.Read();
            if (isData && reader.TokenType == JsonTokenType.StartObject)
            {
                ReadData(ref reader, ref taskEvent);
            }
            else
            {
                reader.Skip();
            }
        }

        return taskEvent;
    }

    public override void Write(Utf8JsonWriter writer, LeanReceivedEvent value, JsonSerializerOptions options) =>
        throw new NotSupportedException($"{nameof(LeanReceivedEvent)} is for reading received events only.");

    private static void ReadData(ref Utf8JsonReader reader, ref LeanReceivedEvent taskEvent)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isIndex = reader.ValueTextEquals("index"u8);
            var isSentAt = !isIndex && reader.ValueTextEquals("sentAt"u8);
            reader.Read();
            if ((isIndex || isSentAt) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
            {
                if (isIndex)
                {
                    taskEvent.Index = value;
                }
                else
                {
                    taskEvent.SentAt = value;
                }
            }
            else
            {
                reader.Skip();
            }
        }
    }
}

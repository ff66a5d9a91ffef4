using System.Buffers;
using AgentApi.Events;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace AgentApi.HubBenchmark;

/// <summary>
/// The <c>taskEvent</c> payload, and each item of a <c>taskEvents</c> batch, as the lean client
/// binds it: only <c>data.index</c> and <c>data.sentAt</c>. The benchmark measures the service's
/// delivery, and binding every field into <see cref="ReceivedEvent"/> made the clients' process
/// the bottleneck. The lean client still runs the real SignalR client, hub protocol and transport,
/// and skips only the fields that the measurement does not read. System.Text.Json skips the keys it
/// has no property for, and MessagePack reads it with <see cref="LeanReceivedEventFormatter"/>.
/// </summary>
/// <remarks>
/// A struct, so that MessagePack allocates one <see cref="EventStamp"/> per event and no event
/// object. <see cref="EventStamp"/> is a class because System.Text.Json binds a struct through a
/// boxed copy: as a struct it would still cost an allocation per event there, and it would make
/// each array slot 40 bytes instead of 8.
/// </remarks>
internal struct LeanReceivedEvent
{
    /// <summary>The event's index and publish time, or null when the event has no data map.</summary>
    public EventStamp? Data { get; set; }
}

/// <summary>
/// The two fields of the benchmark's event data that the measurement reads: the event's global
/// index and its publish time in Stopwatch ticks. Each is null when the data lacks it.
/// </summary>
internal sealed class EventStamp
{
    public long? Index { get; set; }

    public long? SentAt { get; set; }
}

/// <summary>
/// Reads a task event map, as <see cref="TaskEventResponseFormatter"/> writes it, into a
/// <see cref="LeanReceivedEvent"/>. It decodes <c>data.index</c> and <c>data.sentAt</c> when they
/// are integers, compares keys as UTF-8 bytes and passes every other key and value to
/// <c>MessagePackReader.Skip</c>, so it allocates no strings. <see cref="Serialize"/> throws
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
        CompositeResolver.Create([Instance], [HubMessagePack.SerializerOptions.Resolver]));

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

        var count = reader.ReadMapHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (ReadKey(ref reader) == Key.Data)
                {
                    taskEvent.Data = ReadData(ref reader, options);
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

    /// <summary>Reads the event's <c>data</c> value, or skips it and returns null when it is not a map.</summary>
    private static EventStamp? ReadData(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            reader.Skip();
            return null;
        }

        var stamp = new EventStamp();
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
                    stamp.Index = reader.ReadInt64();
                }
                else
                {
                    stamp.SentAt = reader.ReadInt64();
                }
            }
        }
        finally
        {
            reader.Depth--;
        }

        return stamp;
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

using AgentApi.Lanes;
using MessagePack;
using MessagePack.Resolvers;

namespace AgentApi.Events;

/// <summary>
/// The MessagePack serializer options of the hub. Task events and lanes are written with the
/// camelCase keys of the JSON protocol, task event timestamps as the MessagePack timestamp
/// extension, and <c>data</c> as MessagePack maps, arrays and scalars. Other types fall back to
/// the resolvers that SignalR's MessagePack protocol uses by default (enums as strings, then
/// contractless: C# member names as keys).
/// </summary>
public static class HubMessagePack
{
    public static MessagePackSerializerOptions SerializerOptions { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            [
                JsonElementFormatter.Instance,
                TimestampFormatter.Instance,
                TaskEventResponseFormatter.Instance,
                JsonShapeFormatter<LaneResponse>.Instance,
            ],
            [
                DynamicEnumAsStringResolver.Instance,
                ContractlessStandardResolver.Instance,
            ]))
        .WithSecurity(MessagePackSecurity.UntrustedData);
}

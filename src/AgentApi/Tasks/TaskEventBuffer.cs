using System.Text.Json;

namespace AgentApi.Tasks;

/// <summary>Collects the events one change of a task produces; the store numbers and saves them with the change.</summary>
public sealed class TaskEventBuffer
{
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    private readonly List<(string Type, string? DataJson)> _events = [];

    public IReadOnlyList<(string Type, string? DataJson)> Events => _events;

    public void Add(string type, object? data = null) =>
        _events.Add((type, data is null ? null : JsonSerializer.Serialize(data, SerializerOptions)));
}

using System.Text.Json;
using AgentApi.Agents.Sessions;

namespace AgentApi.Tasks;

/// <summary>Collects the events one change of a task produces; the store numbers and saves them with the change.</summary>
public sealed class TaskEventBuffer
{
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    private readonly List<(string Type, string? DataJson)> _events = [];
    private readonly List<SessionMessage> _transcript = [];

    public IReadOnlyList<(string Type, string? DataJson)> Events => _events;

    /// <summary>Session transcript entries saved in the same transaction as the change.</summary>
    public IReadOnlyList<SessionMessage> Transcript => _transcript;

    public void AddTranscript(IEnumerable<SessionMessage> messages) => _transcript.AddRange(messages);

    public void Add(string type, object? data = null) =>
        _events.Add((type, data is null ? null : JsonSerializer.Serialize(data, SerializerOptions)));
}

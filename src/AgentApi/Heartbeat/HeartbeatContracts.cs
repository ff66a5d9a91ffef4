namespace AgentApi.Heartbeat;

/// <summary>Active hours as the API reads and writes them; times are <c>HH:mm</c>.</summary>
public sealed class ActiveHoursDto
{
    public string? Start { get; set; }

    public string? End { get; set; }

    /// <summary>An IANA time zone id such as <c>Europe/Berlin</c> or <c>UTC</c>.</summary>
    public string? TimeZone { get; set; }
}

/// <summary>The body of <c>PUT /api/heartbeat</c>; a field left out keeps its value.</summary>
public sealed class UpdateHeartbeatRequest
{
    public bool? Enabled { get; set; }

    /// <summary>Time between beats, such as <c>30m</c>, <c>1h30m</c> or <c>PT30M</c>; <c>0</c> turns the heartbeat off.</summary>
    public string? Every { get; set; }

    public string? Agent { get; set; }

    /// <summary>The items to check; an empty list means the workspace's <c>HEARTBEAT.md</c>.</summary>
    public List<string>? Checklist { get; set; }

    /// <summary>The workspace whose <c>HEARTBEAT.md</c> is read and in which the beats run.</summary>
    public string? Workspace { get; set; }

    /// <summary>The window in which beats run; null removes it, so beats run at any hour.</summary>
    public ActiveHoursDto? ActiveHours { get; set; }

    /// <summary>Set to true with no <c>activeHours</c> to remove the window.</summary>
    public bool? ClearActiveHours { get; set; }

    /// <summary>A webhook for beats that need attention; an empty string removes it.</summary>
    public string? WebhookUrl { get; set; }
}

/// <summary>The heartbeat as <c>GET /api/heartbeat</c> returns it.</summary>
public sealed record HeartbeatResponse(
    bool Enabled,
    string Every,
    string Agent,
    IReadOnlyList<string>? Checklist,
    string Workspace,
    ActiveHoursDto? ActiveHours,
    string? WebhookUrl,
    string SessionKey,
    DateTimeOffset? NextBeatAt,
    DateTimeOffset? LastBeatAt,
    string? LastOutcome,
    Guid? LastTaskId)
{
    public static HeartbeatResponse From(HeartbeatState state) => new(
        state.Enabled,
        HeartbeatDuration.Format(state.Every),
        state.Agent,
        state.ChecklistJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<List<string>>(state.ChecklistJson),
        state.Workspace,
        state.ActiveStart is null ? null : new ActiveHoursDto { Start = state.ActiveStart, End = state.ActiveEnd, TimeZone = state.ActiveTimeZone },
        state.WebhookUrl,
        state.SessionKey,
        state.IsOn ? state.NextBeatAt : null,
        state.LastBeatAt,
        state.LastOutcome,
        state.LastTaskId);
}

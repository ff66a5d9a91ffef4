namespace AgentApi.Heartbeat;

/// <summary>The heartbeat's settings and its last and next beats: one row, shared by every instance.</summary>
public sealed class HeartbeatState
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;

    public bool Enabled { get; set; } = true;

    /// <summary>Time between two beats, in milliseconds; 0 turns the heartbeat off.</summary>
    public long EveryMs { get; set; } = (long)HeartbeatDefaults.Every.TotalMilliseconds;

    public string Agent { get; set; } = HeartbeatDefaults.Agent;

    /// <summary>The checklist items as a JSON array; null means the agent workspace's <c>HEARTBEAT.md</c>.</summary>
    public string? ChecklistJson { get; set; }

    /// <summary>The workspace whose <c>HEARTBEAT.md</c> is read, and in which the beats run.</summary>
    public string Workspace { get; set; } = HeartbeatDefaults.Workspace;

    /// <summary>Start of the active hours as <c>HH:mm</c>; null means always active.</summary>
    public string? ActiveStart { get; set; }

    public string? ActiveEnd { get; set; }

    public string? ActiveTimeZone { get; set; }

    public string? WebhookUrl { get; set; }

    public DateTimeOffset? NextBeatAt { get; set; }

    public DateTimeOffset? LastBeatAt { get; set; }

    /// <summary>What the last beat did: <c>ran</c>, <c>skipped_inactive</c> or <c>skipped_empty</c>.</summary>
    public string? LastOutcome { get; set; }

    public Guid? LastTaskId { get; set; }

    /// <summary>Raised by every write; the concurrency token that lets one instance only take a due beat.</summary>
    public long Version { get; set; }

    public TimeSpan Every => TimeSpan.FromMilliseconds(EveryMs);

    public bool IsOn => Enabled && EveryMs > 0;

    /// <summary>The session each beat runs in: the agent's main session.</summary>
    public string SessionKey => Agents.SessionKeys.MainOf(Agent);
}

/// <summary>Heartbeat defaults.</summary>
public static class HeartbeatDefaults
{
    public static readonly TimeSpan Every = TimeSpan.FromMinutes(30);

    public const string Agent = "general-purpose";

    public const string Workspace = "main";

    /// <summary>The name of the checklist file in the workspace.</summary>
    public const string ChecklistFile = "HEARTBEAT.md";
}

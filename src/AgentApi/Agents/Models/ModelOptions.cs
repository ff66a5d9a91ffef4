namespace AgentApi.Agents.Models;

/// <summary>One named model under <c>Models:&lt;name&gt;</c>; <c>Models:Default</c> is used by every agent for now.</summary>
public sealed class ModelOptions
{
    public const string SectionName = "Models";
    public const string DefaultName = "Default";

    /// <summary><c>simulated</c> (the default), <c>openai</c> or <c>anthropic</c>.</summary>
    public string Provider { get; set; } = "simulated";

    /// <summary>Base URL of an OpenAI-compatible endpoint, for example <c>http://127.0.0.1:11434/v1</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The provider's API key. It is never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The provider's model id. Defaults to <c>simulated</c> for the simulated provider.</summary>
    public string? Model { get; set; }

    /// <summary>Simulated provider only: delay before each reply, in milliseconds. Defaults to 200.</summary>
    public int LatencyMs { get; set; } = 200;

    /// <summary>Requests to this model in flight at once, across every lane and task. 0 means no limit (the default).</summary>
    public int MaxConcurrentRequests { get; set; }

    /// <summary>Requests to this model started per minute, across every lane and task. 0 means no limit (the default).</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>
    /// Whether replies are streamed, so that users see the text as it arrives. Defaults to true for
    /// <c>openai</c> and <c>simulated</c>, and to false for <c>anthropic</c>.
    /// </summary>
    public bool? Stream { get; set; }

    /// <summary>Longest time one model request may take before it counts as a transient failure. Defaults to 10 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

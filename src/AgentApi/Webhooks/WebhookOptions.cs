namespace AgentApi.Webhooks;

/// <summary>Settings of task completion webhooks, under <c>Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>
    /// The key of the HMAC-SHA256 signature sent with every delivery. Tasks with a
    /// <c>webhookUrl</c> are rejected while it is unset, so that no delivery goes out unsigned.
    /// At least 16 characters. It is never logged.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>Longest time one delivery may take, connection included. Defaults to 10 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries tried before giving up, the first included. Defaults to 6.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>Wait before the second attempt; each further wait doubles. Defaults to 10 seconds.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between two attempts. Defaults to 10 minutes.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Hosts (with <c>:port</c> for one port only) that webhooks may reach although they resolve to
    /// loopback, private or link-local addresses. Any other host must resolve to a public address.
    /// Empty by default.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];
}

namespace AgentApi.Agents.Tools;

/// <summary>Settings under <c>Tools:Bash</c>.</summary>
public sealed class BashToolOptions
{
    public const int DefaultMaxOutputBytes = 64 * 1024;
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultMaxTimeout = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Whether the <c>bash</c> tool exists at all. Defaults to false: a command runs as the
    /// service's own user, which can read the service's environment, secrets included, through
    /// <c>/proc/&lt;parent pid&gt;/environ</c>. Turn it on only where every model input is trusted.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// Time after which a command without <c>timeout_seconds</c> is killed with its child
    /// processes. Defaults to 30 seconds and may not exceed <see cref="MaxTimeout"/>.
    /// </summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>Maximum <c>timeout_seconds</c> a call may request. Defaults to 300 seconds.</summary>
    public TimeSpan MaxTimeout { get; set; } = DefaultMaxTimeout;

    /// <summary>
    /// Maximum bytes of standard output and standard error, together, kept for the result.
    /// Defaults to 64 KiB. Output beyond it is read and discarded, and the result notes how much.
    /// </summary>
    public int MaxOutputBytes { get; set; } = DefaultMaxOutputBytes;

    /// <summary>
    /// The <c>PATH</c> the command runs with, since no variable of the service's own environment
    /// is passed on. Defaults to the usual Linux system folders.
    /// </summary>
    public string Path { get; set; } = DefaultPath;
}

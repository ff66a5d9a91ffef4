namespace AgentApi.Agents.Tools;

/// <summary>Settings under <c>Tools</c>, validated at start-up by <see cref="ToolOptionsValidator"/>.</summary>
public sealed class ToolOptions
{
    public const string SectionName = "Tools";

    /// <summary>Name of the folder under <c>Storage:DataDirectory</c> that is the default workspace root.</summary>
    public const string DefaultWorkspaceFolderName = "workspaces";

    public const int DefaultMaxReadBytes = 256 * 1024;
    public const int DefaultMaxWriteBytes = 1024 * 1024;
    public const int DefaultMaxEntries = 1000;
    public const int DefaultMaxGrepMatches = 200;
    public const int DefaultMaxScannedFiles = 20_000;
    public const int DefaultMaxGrepFileBytes = 4 * 1024 * 1024;
    public static readonly TimeSpan DefaultGrepMatchTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Folder that contains one workspace folder per workspace name. A relative path resolves
    /// against the content root. Defaults to <c>workspaces</c> under <c>Storage:DataDirectory</c>,
    /// which itself resolves against the working directory, as the storage does.
    /// </summary>
    public string? WorkspaceRoot { get; set; }

    /// <summary>
    /// Maximum UTF-8 bytes of numbered lines that one <c>read_file</c> call returns, followed by a
    /// note when the file goes on. Defaults to 256 KiB.
    /// </summary>
    public int MaxReadBytes { get; set; } = DefaultMaxReadBytes;

    /// <summary>
    /// Maximum size in UTF-8 bytes of a file that <c>write_file</c> writes or <c>edit_file</c>
    /// reads and writes. Defaults to 1 MiB.
    /// </summary>
    public int MaxWriteBytes { get; set; } = DefaultMaxWriteBytes;

    /// <summary>Maximum entries that one <c>list_files</c> or <c>glob</c> call returns. Defaults to 1000.</summary>
    public int MaxEntries { get; set; } = DefaultMaxEntries;

    /// <summary>Maximum matching lines that one <c>grep</c> call returns. Defaults to 200.</summary>
    public int MaxGrepMatches { get; set; } = DefaultMaxGrepMatches;

    /// <summary>
    /// Maximum files that one <c>glob</c> or <c>grep</c> call visits in the workspace tree before
    /// it stops and notes that the search was incomplete. Defaults to 20,000.
    /// </summary>
    public int MaxScannedFiles { get; set; } = DefaultMaxScannedFiles;

    /// <summary>Size in bytes above which <c>grep</c> skips a file. Defaults to 4 MiB.</summary>
    public int MaxGrepFileBytes { get; set; } = DefaultMaxGrepFileBytes;

    /// <summary>Maximum time one regular expression match of <c>grep</c> may take. Defaults to 1 second.</summary>
    public TimeSpan GrepMatchTimeout { get; set; } = DefaultGrepMatchTimeout;

    /// <summary>Settings of the <c>bash</c> tool, under <c>Tools:Bash</c>.</summary>
    public BashToolOptions Bash { get; set; } = new();

    /// <summary>Settings of the <c>web_fetch</c> tool, under <c>Tools:WebFetch</c>.</summary>
    public WebFetchToolOptions WebFetch { get; set; } = new();
}

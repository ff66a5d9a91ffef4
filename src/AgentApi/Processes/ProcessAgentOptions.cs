namespace AgentApi.Processes;

/// <summary>Settings of process agents, under <c>Processes</c>.</summary>
public sealed class ProcessAgentOptions
{
    public const string SectionName = "Processes";

    /// <summary>The default of <see cref="Path"/>.</summary>
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// The directory read as <c>/</c> when finding the service's cgroup and creating the groups of
    /// runs; <c>/</c> by default. Tests point it at a fixture tree.
    /// </summary>
    public string CgroupRoot { get; set; } = "/";

    /// <summary><c>PATH</c> of the programs, unless the agent file's <c>env</c> sets one.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>Characters of standard output kept as the result and sent as output events; 1,048,576 (1 Mi) by default.</summary>
    public int MaxOutputChars { get; set; } = 1 << 20;

    /// <summary>Characters kept of one output line; the rest of a longer line is dropped. 16,384 by default.</summary>
    public int MaxLineChars { get; set; } = 16_384;

    /// <summary>Bytes of the end of standard error kept for the error message of a failed run; 4,096 by default.</summary>
    public int MaxStandardErrorBytes { get; set; } = 4096;
}

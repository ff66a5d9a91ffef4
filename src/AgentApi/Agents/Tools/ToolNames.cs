using System.Collections.Frozen;

namespace AgentApi.Agents.Tools;

/// <summary>The names of the tools an agent definition may list, as they are declared to the model.</summary>
public static class ToolNames
{
    public const string ReadFile = "read_file";
    public const string ListFiles = "list_files";
    public const string Glob = "glob";
    public const string Grep = "grep";
    public const string WriteFile = "write_file";
    public const string EditFile = "edit_file";
    public const string Bash = "bash";
    public const string WebFetch = "web_fetch";
    public const string SpawnSubagent = "spawn_subagent";
    public const string AskAgent = "ask_agent";

    /// <summary>The tools that read the workspace and change nothing.</summary>
    public static readonly IReadOnlyList<string> ReadOnly = [ReadFile, ListFiles, Glob, Grep];

    public static readonly FrozenSet<string> All = new[]
    {
        ReadFile, ListFiles, Glob, Grep, WriteFile, EditFile, Bash, WebFetch, SpawnSubagent, AskAgent,
    }.ToFrozenSet(StringComparer.Ordinal);
}

namespace AgentApi.Agents;

/// <summary>
/// Session keys: <c>agent:&lt;agent&gt;:main</c> for an agent's main conversation,
/// <c>agent:&lt;agent&gt;:subagent:&lt;uuid&gt;</c> for one subagent run, and
/// <c>agent:&lt;agent&gt;:cron:&lt;schedule&gt;:&lt;uuid&gt;</c> for one run of a schedule.
/// </summary>
public static class SessionKeys
{
    private const string SubagentMarker = ":subagent:";

    public static string MainOf(string agent) => $"agent:{agent}:main";

    public static string NewSubagent(string agent, Guid id) => $"agent:{agent}:subagent:{id:D}";

    /// <summary>A fresh session for one run of schedule <paramref name="scheduleId"/>.</summary>
    public static string NewCronRun(string agent, string scheduleId, Guid runId) => $"agent:{agent}:cron:{scheduleId}:{runId:D}";

    /// <summary>Returns <c>subagent</c>, <c>main</c> or <c>custom</c>: the kind of session a key names.</summary>
    public static string KindOf(string sessionKey) =>
        IsSubagent(sessionKey) ? "subagent"
        : sessionKey.EndsWith(":main", StringComparison.Ordinal) ? "main"
        : "custom";

    public static bool IsSubagent(string? sessionKey) =>
        sessionKey is not null && sessionKey.Contains(SubagentMarker, StringComparison.Ordinal);

    /// <summary>The agent named by a key of the form <c>agent:&lt;agent&gt;:…</c>, or null for other keys.</summary>
    public static string? AgentOf(string sessionKey)
    {
        if (!sessionKey.StartsWith("agent:", StringComparison.Ordinal))
        {
            return null;
        }

        var end = sessionKey.IndexOf(':', "agent:".Length);
        return end < 0 ? null : sessionKey["agent:".Length..end];
    }
}

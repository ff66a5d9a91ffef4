namespace AgentApi.Agents.Files;

/// <summary>Formats values from agent files for reasons and log messages.</summary>
internal static class AgentFileText
{
    private const int MaxQuotedLength = 64;

    /// <summary>Shortens a value to 64 characters and escapes control characters, so a reason names it without quoting the file.</summary>
    public static string Quote(string value)
    {
        var truncated = value.Length > MaxQuotedLength ? value[..MaxQuotedLength] + "…" : value;
        return string.Concat(truncated.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }
}

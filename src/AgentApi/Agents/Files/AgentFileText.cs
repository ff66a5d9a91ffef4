namespace AgentApi.Agents.Files;

/// <summary>Formats values from agent files for reasons and log messages.</summary>
internal static class AgentFileText
{
    /// <summary>Shortens a value to 64 characters and escapes control characters, so a reason names it without quoting the file.</summary>
    public static string Quote(string value) => Errors.MessageText.Quote(value);
}

namespace AgentApi.Errors;

/// <summary>Formats rejected values for error and log messages.</summary>
public static class MessageText
{
    private const int MaxQuotedLength = 64;

    /// <summary>Shortens a value to 64 characters and escapes control characters, so that the message stays readable; null becomes <c>null</c>.</summary>
    public static string Quote(string? value)
    {
        if (value is null)
        {
            return "null";
        }

        var truncated = value.Length > MaxQuotedLength ? value[..MaxQuotedLength] + "…" : value;
        return string.Concat(truncated.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }
}

using System.Text.RegularExpressions;

namespace AgentApi.Heartbeat;

/// <summary>
/// Decides whether a beat's reply means "nothing needs attention": the token <c>HEARTBEAT_OK</c>,
/// also in Markdown emphasis or code marks and with trailing punctuation, at the start or end of
/// a reply whose other text is at most <see cref="MaxOtherCharacters"/> characters.
/// </summary>
public static partial class HeartbeatReply
{
    public const string Token = "HEARTBEAT_OK";

    public const int MaxOtherCharacters = 300;

    public static bool IsOk(string? reply)
    {
        if (string.IsNullOrWhiteSpace(reply))
        {
            return false;
        }

        var text = reply.Trim();
        var match = LeadingToken().Match(text);
        if (!match.Success)
        {
            match = TrailingToken().Match(text);
        }

        if (!match.Success)
        {
            return false;
        }

        var other = text.Remove(match.Index, match.Length).Trim();
        return other.Length <= MaxOtherCharacters;
    }

    [GeneratedRegex(@"\A[*_~`]{0,3}HEARTBEAT_OK[*_~`]{0,3}[.!?,;:]*(?=\s|\z)")]
    private static partial Regex LeadingToken();

    [GeneratedRegex(@"(?<=\s|\A)[*_~`]{0,3}HEARTBEAT_OK[*_~`]{0,3}[.!?,;:]*\z")]
    private static partial Regex TrailingToken();
}

using Microsoft.AspNetCore.WebUtilities;

namespace AgentApi.Errors;

/// <summary>
/// The <c>type</c> and <c>title</c> a problem gets when the code that raised it set none. ASP.NET
/// Core's default problem details writer fills them from its own table, but
/// <see cref="FallbackProblemDetailsWriter"/> does not use that writer, and the table has no
/// entry for some codes, such as 429.
/// </summary>
internal static class ProblemDefaults
{
    private const string Rfc9110 = "https://tools.ietf.org/html/rfc9110#section-";

    /// <summary>
    /// Sets a missing <c>status</c> to <paramref name="status"/>, a missing <c>type</c> to the status
    /// code's definition and a missing <c>title</c> to its reason phrase.
    /// </summary>
    public static void Apply(Microsoft.AspNetCore.Mvc.ProblemDetails problem, int status)
    {
        problem.Status ??= status;
        problem.Type ??= TypeFor(status);
        if (string.IsNullOrEmpty(problem.Title) && ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase)
        {
            problem.Title = phrase;
        }
    }

    /// <summary>The section of RFC 9110 (RFC 6585 for 429) that defines <paramref name="status"/>, or null for a code neither defines.</summary>
    internal static string? TypeFor(int status) => status switch
    {
        >= 400 and <= 417 => Rfc9110 + "15.5." + (status - 399),
        421 => Rfc9110 + "15.5.20",
        422 => Rfc9110 + "15.5.21",
        426 => Rfc9110 + "15.5.22",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        >= 500 and <= 505 => Rfc9110 + "15.6." + (status - 499),
        _ => null,
    };
}

namespace AgentApi.Security;

/// <summary>Settings under <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>
    /// Keys accepted with full access (<c>Auth__ApiKeys__0</c>, …). When empty and no key is
    /// stored, a key is generated on first start and printed once.
    /// </summary>
    public List<string> ApiKeys { get; set; } = [];
}

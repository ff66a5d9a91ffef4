namespace AgentApi.Security;

/// <summary>What an API key may do. A key with <c>admin</c> may do everything.</summary>
public static class ApiKeyScopes
{
    public const string Read = "read";
    public const string Submit = "submit";
    public const string Admin = "admin";

    public const string ClaimType = "scope";

    public static IReadOnlyList<string> All { get; } = [Read, Submit, Admin];
}

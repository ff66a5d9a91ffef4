namespace AgentApi.Security;

/// <summary>Names of the authorization policies; each requires its scope or <c>admin</c>.</summary>
public static class AuthorizationPolicies
{
    public const string Read = "scope:read";
    public const string Submit = "scope:submit";
    public const string Admin = "scope:admin";
}

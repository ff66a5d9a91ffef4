namespace AgentApi.Security;

/// <summary>The owner of a valid key: its name and scopes.</summary>
public sealed record ApiKeyIdentity(string Name, IReadOnlyList<string> Scopes);

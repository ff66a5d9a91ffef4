namespace AgentApi.Security;

/// <summary>A key as <c>GET /api/keys</c> lists it: <paramref name="Source"/> is <c>configuration</c> or <c>stored</c>.</summary>
public sealed record ApiKeyInfo(string Name, IReadOnlyList<string> Scopes, string Source, DateTimeOffset? CreatedAt);

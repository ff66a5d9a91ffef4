namespace AgentApi.Security;

/// <summary>An API key kept in the database. Only the SHA-256 hash of the key is stored.</summary>
public sealed class StoredApiKey
{
    public required string Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the key.</summary>
    public required string Hash { get; set; }

    /// <summary>Comma-separated scopes: <c>read</c>, <c>submit</c>, <c>admin</c>.</summary>
    public required string Scopes { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

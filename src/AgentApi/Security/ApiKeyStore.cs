using System.Collections.Immutable;
using System.Security.Cryptography;
using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentApi.Security;

/// <summary>
/// Validates API keys against the configured keys and the keys stored in the database. Keys are
/// compared by their SHA-256 hashes in constant time.
/// </summary>
public sealed class ApiKeyStore
{
    private readonly IDbContextFactory<AgentDbContext> _dbFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ImmutableArray<(string Name, byte[] Hash)> _configuredKeys;
    private volatile (ApiKeyIdentity Identity, byte[] Hash)[] _storedKeys = [];

    public ApiKeyStore(
        IOptions<AuthOptions> options,
        IDbContextFactory<AgentDbContext> dbFactory,
        TimeProvider timeProvider)
    {
        _dbFactory = dbFactory;
        _timeProvider = timeProvider;
        _configuredKeys =
        [
            .. options.Value.ApiKeys
                .Where(key => !string.IsNullOrWhiteSpace(key))
                .Select((key, index) => ($"config-{index}", ApiKeyHasher.Hash(key))),
        ];
    }

    public bool HasConfiguredKeys => !_configuredKeys.IsEmpty;

    /// <summary>Returns the key's owner, or null when the key is not valid.</summary>
    public ApiKeyIdentity? Validate(string presentedKey)
    {
        var presentedHash = ApiKeyHasher.Hash(presentedKey);
        ApiKeyIdentity? match = null;

        // Every key is compared, so the time taken does not depend on which one matched.
        foreach (var (name, hash) in _configuredKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(presentedHash, hash))
            {
                match = new ApiKeyIdentity(name, ApiKeyScopes.All);
            }
        }

        foreach (var (identity, hash) in _storedKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(presentedHash, hash))
            {
                match = identity;
            }
        }

        return match;
    }

    /// <summary>Reloads the stored keys; called at start-up and after every change.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await using var db = _dbFactory.CreateDbContext();
        var rows = await db.ApiKeys.AsNoTracking().ToListAsync(cancellationToken);
        var before = _storedKeys.Select(key => key.Identity.Name).ToHashSet(StringComparer.Ordinal);
        _storedKeys =
        [
            .. rows.Select(row => (
                new ApiKeyIdentity(row.Name, row.Scopes.Split(',', StringSplitOptions.RemoveEmptyEntries)),
                Convert.FromHexString(row.Hash))),
        ];
        before.ExceptWith(rows.Select(row => row.Name));
        if (before.Count > 0)
        {
            Revoked?.Invoke(before);
        }
    }

    /// <summary>Called with the names of stored keys that a reload found gone, here or through another instance.</summary>
    public event Action<IReadOnlyCollection<string>>? Revoked;

    public bool HasStoredKeys => _storedKeys.Length > 0;

    /// <summary>Called after a stored key was created or revoked here, so that other instances reload theirs.</summary>
    public event Action? Changed;

    /// <summary>Returns whether a key named <paramref name="name"/> is valid now, from configuration or storage.</summary>
    public bool Exists(string name) =>
        _configuredKeys.Any(key => key.Name == name) || _storedKeys.Any(key => key.Identity.Name == name);

    /// <summary>The keys' names and scopes, configured ones first; never the keys or their hashes.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = _dbFactory.CreateDbContext();
        var stored = await db.ApiKeys.AsNoTracking().OrderBy(key => key.Name).ToListAsync(cancellationToken);
        return
        [
            .. _configuredKeys.Select(key => new ApiKeyInfo(key.Name, ApiKeyScopes.All, "configuration", null)),
            .. stored.Select(key => new ApiKeyInfo(key.Name, key.Scopes.Split(',', StringSplitOptions.RemoveEmptyEntries), "stored", key.CreatedAt)),
        ];
    }

    /// <summary>Deletes the stored key named <paramref name="name"/>; returns false when there is none.</summary>
    public async Task<bool> RevokeAsync(string name, CancellationToken cancellationToken)
    {
        int deleted;
        await using (var db = _dbFactory.CreateDbContext())
        {
            deleted = await db.ApiKeys.Where(key => key.Name == name).ExecuteDeleteAsync(cancellationToken);
        }

        await ReloadAsync(cancellationToken);
        if (deleted > 0)
        {
            Changed?.Invoke();
        }

        return deleted > 0;
    }

    /// <summary>Returns whether <paramref name="name"/> is taken by a configured key.</summary>
    public bool IsConfigured(string name) => _configuredKeys.Any(key => key.Name == name);

    /// <summary>Stores a new key under <paramref name="name"/> and returns the key itself, which is not kept.</summary>
    public async Task<string> CreateAsync(string name, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var key = ApiKeyHasher.CreateKey();
        await using (var db = _dbFactory.CreateDbContext())
        {
            db.ApiKeys.Add(new StoredApiKey
            {
                Name = name,
                Hash = ApiKeyHasher.HashToHex(key),
                Scopes = string.Join(',', scopes),
                CreatedAt = _timeProvider.GetUtcNow(),
            });
            await db.SaveChangesAsync(cancellationToken);
        }

        await ReloadAsync(cancellationToken);
        Changed?.Invoke();
        return key;
    }
}

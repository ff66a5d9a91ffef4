using System.Collections.Concurrent;

namespace AgentApi.Security;

/// <summary>
/// The long-lived connections (hub connections, event streams) opened with each key, so that
/// revoking a key closes them as well as refusing its next request.
/// </summary>
public sealed class KeyConnections
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, Action>> _byKey = new(StringComparer.Ordinal);
    private long _nextId;

    public KeyConnections(ApiKeyStore keys) => keys.Revoked += OnRevoked;

    /// <summary>Calls <paramref name="abort"/> if the key named <paramref name="keyName"/> is revoked before the registration is disposed.</summary>
    public IDisposable Register(string? keyName, Action abort)
    {
        if (keyName is null)
        {
            return NoRegistration.Instance;
        }

        var id = Interlocked.Increment(ref _nextId);
        _byKey.GetOrAdd(keyName, static _ => new ConcurrentDictionary<long, Action>())[id] = abort;
        return new Registration(this, keyName, id);
    }

    private void OnRevoked(IReadOnlyCollection<string> names)
    {
        foreach (var name in names)
        {
            if (_byKey.TryRemove(name, out var connections))
            {
                foreach (var abort in connections.Values)
                {
                    abort();
                }
            }
        }
    }

    private sealed class Registration(KeyConnections owner, string keyName, long id) : IDisposable
    {
        public void Dispose()
        {
            if (owner._byKey.TryGetValue(keyName, out var connections))
            {
                connections.TryRemove(id, out _);
            }
        }
    }

    private sealed class NoRegistration : IDisposable
    {
        public static readonly NoRegistration Instance = new();

        public void Dispose()
        {
        }
    }
}

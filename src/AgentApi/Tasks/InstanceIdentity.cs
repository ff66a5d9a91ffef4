namespace AgentApi.Tasks;

/// <summary>The name this process uses as the owner of the leases it takes.</summary>
public sealed class InstanceIdentity
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}

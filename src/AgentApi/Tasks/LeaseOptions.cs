namespace AgentApi.Tasks;

/// <summary>Settings under <c>Leases</c>: how an instance holds the tasks it waits on or runs.</summary>
public sealed class LeaseOptions
{
    public const string SectionName = "Leases";

    /// <summary>
    /// How long a lease lasts without renewal. Defaults to 30 seconds; a task of an instance that
    /// died runs again on another instance, or at the next start, about this long after.
    /// </summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an instance renews its leases. Defaults to 10 seconds; keep it well under <see cref="Duration"/>.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each instance looks for tasks whose lease ended or that have no job. Defaults to 10 seconds.</summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(10);
}

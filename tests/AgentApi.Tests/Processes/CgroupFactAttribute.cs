using AgentApi.Processes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Processes;

/// <summary>
/// A test that needs root and writable cgroups. Elsewhere it is skipped, and the skip reason,
/// which the test runner prints, names what is missing.
/// </summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> MissingReason = new(FindMissingReason);

    public CgroupFactAttribute()
    {
        if (MissingReason.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? FindMissingReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "cgroups exist only on Linux.";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "creating cgroups needs root; run the tests as root.";
        }

        var cgroups = new ProcessCgroups("/", NullLogger.Instance);
        var setup = cgroups.Create($"{ProcessCgroups.GroupPrefix}probe-{Guid.NewGuid():N}", new ProcessLimits(null, null, 64L << 20, null, null), cpus: null);
        if (setup.Group is not { } group)
        {
            return $"no cgroup can be created here: {setup.Unavailable}.";
        }

        group.RemoveAsync(TimeProvider.System).GetAwaiter().GetResult();
        return setup.NotApplied.Count == 0 ? null : $"cgroup limits cannot be set here: {string.Join("; ", setup.NotApplied.Values)}.";
    }
}

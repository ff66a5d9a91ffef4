using System.Globalization;

namespace AgentApi.Processes;

public sealed partial class ProcessCgroups
{
    /// <summary>
    /// Returns the name of a new run group for <paramref name="taskId"/>. The name carries the id of
    /// this service process, so that a later start can tell groups whose service is gone.
    /// </summary>
    public static string RunGroupName(Guid taskId) =>
        $"{GroupPrefix}{taskId:N}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// Returns the service process id in a run group's name (<see cref="RunGroupName"/>), or null
    /// for a name of another form.
    /// </summary>
    internal static int? OwnerProcessId(string name)
    {
        if (!name.StartsWith(GroupPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = name[GroupPrefix.Length..].Split('-');
        return parts.Length == 3 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    /// <summary>
    /// Kills the members of run groups whose service process no longer exists, as after a
    /// <c>kill -9</c> of the service, and removes those groups. Groups of a live service process
    /// on the same machine are left alone. Returns how many groups were removed.
    /// </summary>
    internal async Task<int> RemoveLeftoversAsync(TimeProvider timeProvider)
    {
        var location = Locate();
        if (location is null)
        {
            return 0;
        }

        IEnumerable<string> parents = location.Version == 1
            ? location.Version1Directories.Values.Distinct(StringComparer.Ordinal).Select(_files.Resolve)
            : [_files.Resolve(location.Version2Directory!)];
        var removed = 0;
        foreach (var parent in parents)
        {
            string[] groups;
            try
            {
                groups = Directory.GetDirectories(parent, GroupPrefix + "*");
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var directory in groups)
            {
                if (OwnerProcessId(Path.GetFileName(directory)) is not { } owner || Directory.Exists(_files.Resolve($"/proc/{owner}")))
                {
                    continue;
                }

                var group = new CgroupRunGroup(location.Version, [directory], null, null, _removeDirectory);
                var killed = await group.KillMembersAsync(timeProvider);
                var failures = await group.RemoveAsync(timeProvider);
                ProcessesLog.LeftoverRemoved(_logger, directory, owner, killed, failures.Count == 0);
                if (failures.Count == 0)
                {
                    removed++;
                }
            }
        }

        return removed;
    }
}

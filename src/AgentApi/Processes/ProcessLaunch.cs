using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace AgentApi.Processes;

/// <summary>Builds the launcher command line of a run and describes which limits are in force.</summary>
internal static class ProcessLaunch
{
    public const string ShellPath = "/bin/sh";

    /// <summary>
    /// The launcher: <c>/bin/sh</c> writes its own pid into each cgroup's <c>cgroup.procs</c>, then
    /// replaces itself with the rest of its arguments (<c>setsid</c>, <c>taskset</c>, <c>prlimit</c>
    /// and the program, each of which executes the next in the same process). So the program is a
    /// member of its groups and pinned to its CPUs from its first instruction. Arguments: the number
    /// of <c>cgroup.procs</c> files, the files, then the command line.
    /// </summary>
    private const string LauncherScript =
        "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; n=$((n-1)); shift; done; exec \"$@\"";

    /// <summary>The exit code of a launcher that could not join a cgroup.</summary>
    public const int JoinFailedExitCode = 125;

    public static ProcessStartInfo CreateStartInfo(
        ProcessAgentSpec spec,
        string command,
        string input,
        string workingDirectory,
        IReadOnlyDictionary<string, string> environment,
        string? cpus,
        CgroupSetup setup,
        LauncherTools tools)
    {
        var startInfo = new ProcessStartInfo(ShellPath)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        };

        var arguments = startInfo.ArgumentList;
        arguments.Add("-c");
        arguments.Add(LauncherScript);
        arguments.Add("agentapi-launcher");
        var procsFiles = setup.Group?.ProcsFiles ?? [];
        arguments.Add(procsFiles.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var file in procsFiles)
        {
            arguments.Add(file);
        }

        if (tools.Setsid is { } setsid)
        {
            arguments.Add(setsid);
        }

        if (cpus is not null && tools.Taskset is { } taskset)
        {
            arguments.Add(taskset);
            arguments.Add("-c");
            arguments.Add(cpus);
        }

        if (spec.Limits.MemoryLimitBytes is { } memory && !setup.Applied.ContainsKey("memoryLimit") && tools.Prlimit is { } prlimit)
        {
            arguments.Add(prlimit);
            arguments.Add(string.Create(CultureInfo.InvariantCulture, $"--as={memory}:{memory}"));
            arguments.Add("--");
        }

        arguments.Add(command);
        foreach (var argument in spec.Arguments)
        {
            arguments.Add(argument.Replace(ProcessAgentSpec.InputPlaceholder, input, StringComparison.Ordinal));
        }

        startInfo.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        return startInfo;
    }

    /// <summary>Returns each requested limit with whether it is in force and how, or why not.</summary>
    public static IReadOnlyList<ProcessLimitStatus> DescribeLimits(ProcessLimits limits, string? cpus, CgroupSetup setup, LauncherTools tools)
    {
        List<ProcessLimitStatus> statuses = [];
        string CgroupReason(string limit) =>
            setup.NotApplied.GetValueOrDefault(limit) ?? setup.Unavailable ?? "no cgroup was created for the run";

        if (cpus is not null)
        {
            List<string> methods = [];
            if (setup.Applied.GetValueOrDefault("cpus") is { } cgroupMethod)
            {
                methods.Add(cgroupMethod);
            }

            if (tools.Taskset is not null)
            {
                methods.Add("taskset");
            }

            var reason = setup.Applied.ContainsKey("cpus") ? null : CgroupReason("cpus");
            if (tools.Taskset is null)
            {
                reason = (reason is null ? string.Empty : reason + "; ") + "taskset (util-linux) was not found";
            }

            statuses.Add(new ProcessLimitStatus("cpus", cpus, methods.Count > 0, methods.Count > 0 ? string.Join(", ", methods) : null, reason));
        }

        if (limits.CpuQuota is { } quota)
        {
            var value = quota.ToString(CultureInfo.InvariantCulture);
            statuses.Add(setup.Applied.GetValueOrDefault("cpuQuota") is { } method
                ? new ProcessLimitStatus("cpuQuota", value, true, method, null)
                : new ProcessLimitStatus("cpuQuota", value, false, null, CgroupReason("cpuQuota") + "; a CPU quota can be set only through a cgroup"));
        }

        if (limits.MemoryLimitBytes is { } memory)
        {
            var value = ByteSize.Format(memory);
            if (setup.Applied.GetValueOrDefault("memoryLimit") is { } method)
            {
                statuses.Add(new ProcessLimitStatus("memoryLimit", value, true, method, null));
            }
            else if (tools.Prlimit is not null)
            {
                statuses.Add(new ProcessLimitStatus("memoryLimit", value, true, "prlimit --as",
                    CgroupReason("memoryLimit") + "; so the limit is on the address space of each process (RLIMIT_AS), not on the memory the run uses"));
            }
            else
            {
                statuses.Add(new ProcessLimitStatus("memoryLimit", value, false, null, CgroupReason("memoryLimit") + "; and prlimit (util-linux) was not found"));
            }
        }

        if (limits.PidsLimit is { } pids)
        {
            var value = pids.ToString(CultureInfo.InvariantCulture);
            statuses.Add(setup.Applied.GetValueOrDefault("pidsLimit") is { } method
                ? new ProcessLimitStatus("pidsLimit", value, true, method, null)
                : new ProcessLimitStatus("pidsLimit", value, false, null,
                    CgroupReason("pidsLimit") + "; RLIMIT_NPROC is not used instead, because it counts every process of the service's user"));
        }

        if (limits.Timeout is { } timeout)
        {
            statuses.Add(new ProcessLimitStatus("timeoutSeconds", ((long)timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), true, "service timer", null));
        }

        return statuses;
    }
}

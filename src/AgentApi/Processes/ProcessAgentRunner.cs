using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using AgentApi.Agents;
using AgentApi.Lanes;
using AgentApi.Tasks;
using Microsoft.Extensions.Options;

namespace AgentApi.Processes;

/// <summary>
/// Runs a process agent's program for one attempt of a task: in a cgroup of its own with the
/// agent's limits, pinned to its CPU list from its start, with the task input on standard input
/// or in its arguments. Standard output lines become output events; the exit code decides the
/// outcome. The whole process tree, grandchildren that left the process group included, ends
/// with the run.
/// </summary>
public sealed class ProcessAgentRunner
{
    /// <summary>How long the output pipes may stay open after the program and its group are gone.</summary>
    private static readonly TimeSpan OutputDrainGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait for a killed program to be reaped.</summary>
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private readonly ProcessCgroups _cgroups;
    private readonly RunningProcessRegistry _registry;
    private readonly LaneCatalog _lanes;
    private readonly ISystemResourcesReader _resources;
    private readonly ProcessAgentOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ProcessAgentRunner> _logger;
    private readonly LauncherTools _tools = LauncherTools.Find();

    public ProcessAgentRunner(
        ProcessCgroups cgroups,
        RunningProcessRegistry registry,
        LaneCatalog lanes,
        ISystemResourcesReader resources,
        IOptions<ProcessAgentOptions> options,
        TimeProvider timeProvider,
        ILogger<ProcessAgentRunner> logger)
    {
        _cgroups = cgroups;
        _registry = registry;
        _lanes = lanes;
        _resources = resources;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <exception cref="AgentRunException">The program could not start, failed, went over its memory limit or its timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the program was killed.</exception>
    public async Task<AgentRunResult> RunAsync(
        AgentTask task,
        AgentDefinition agent,
        ProcessAgentSpec spec,
        string workspacePath,
        IAgentRunObserver? observer,
        CancellationToken cancellationToken)
    {
        var workingDirectory = ResolveWorkingDirectory(spec, workspacePath);
        var environment = ProcessEnvironment.Build(spec, workingDirectory, _options.Path);
        var command = ProcessEnvironment.FindExecutable(spec.Command, environment["PATH"], workingDirectory)
            ?? throw new AgentRunException("command_not_found",
                $"Agent '{agent.Name}' runs '{spec.Command}', which was not found (PATH is '{environment["PATH"]}', working directory '{workingDirectory}').");
        var cpus = ResolveCpus(agent, spec.Limits.Cpus, task.Lane);

        var setup = _cgroups.Create(ProcessCgroups.RunGroupName(task.Id), spec.Limits, cpus);
        var limits = ProcessLaunch.DescribeLimits(spec.Limits, cpus, setup, _tools);
        var group = setup.Group;
        var cleanedUp = false;
        using var process = new Process
        {
            StartInfo = ProcessLaunch.CreateStartInfo(spec, command, task.Input, workingDirectory, environment, cpus, setup, _tools),
        };

        try
        {
            try
            {
                process.Start();
            }
            catch (Win32Exception exception)
            {
                throw new AgentRunException("process_start_failed", $"{ProcessLaunch.ShellPath} could not be started for agent '{agent.Name}': {exception.Message}");
            }

            var startedAt = _timeProvider.GetTimestamp();
            using var registration = _registry.Add(new RunningProcess(
                task.Id, agent.Name, task.Lane, process.Id, command, group?.Version, group?.Directories ?? [], limits, _timeProvider.GetUtcNow()));
            ReportStart(task, agent, process.Id, command, setup, limits, observer);

            var output = new ProcessOutput(observer, _options.MaxOutputChars, _options.MaxLineChars);
            var standardError = new TailBuffer(_options.MaxStandardErrorBytes);
            using var stopReading = new CancellationTokenSource();
            var reading = Task.WhenAll(
                output.ReadAsync(process.StandardOutput.BaseStream, stopReading.Token),
                standardError.CopyFromAsync(process.StandardError.BaseStream, stopReading.Token));
            var writing = WriteInputAsync(process, spec.TakesInputAsArgument ? null : task.Input);

            using var timeout = spec.Limits.Timeout is { } limit ? new CancellationTokenSource(limit, _timeProvider) : null;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout?.Token ?? CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(linked.Token);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                await KillTreeAsync(process, group, task);
            }

            // Read before the group goes: its accounting is the run's CPU time and memory peak.
            var cpuUsage = group?.ReadCpuUsageMicroseconds();
            var memoryPeak = group?.ReadMemoryPeakBytes();
            var oomKills = group?.ReadOomKills();
            var memoryFailCount = group?.ReadMemoryFailCount();

            // Background processes the program left behind end with the run.
            await KillTreeAsync(process, group, task);
            await RemoveGroupAsync(group);
            cleanedUp = true;
            await StopReadingAsync(reading, stopReading);
            await writing;

            var exitCode = process.ExitCode;
            var durationMs = (long)_timeProvider.GetElapsedTime(startedAt).TotalMilliseconds;
            observer?.OnEvent(TaskEventTypes.ProcessExited, new
            {
                exitCode,
                durationMs,
                cpuUsageUs = cpuUsage,
                memoryPeakBytes = memoryPeak,
                oomKills,
            });
            ProcessesLog.ProcessExited(_logger, task.Id, agent.Name, exitCode, durationMs, cpuUsage);

            cancellationToken.ThrowIfCancellationRequested();
            if (timeout?.IsCancellationRequested == true)
            {
                throw new AgentRunException("timed_out",
                    $"Agent '{agent.Name}' did not finish within its timeoutSeconds of {(long)spec.Limits.Timeout!.Value.TotalSeconds}, so it was killed with its child processes.")
                {
                    IsTimeout = true,
                };
            }

            if (exitCode == 0)
            {
                return new AgentRunResult(output.GetResult(), Model: null, InputTokens: null, OutputTokens: null);
            }

            if (IsMemoryKill(exitCode, oomKills, memoryFailCount))
            {
                throw new AgentRunException("memory_limit_exceeded",
                    $"Agent '{agent.Name}' was killed for exceeding its memoryLimit of {ByteSize.Format(spec.Limits.MemoryLimitBytes!.Value)} (peak {memoryPeak?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} bytes).");
            }

            var tail = standardError.GetText().TrimEnd();
            throw new AgentRunException("process_failed",
                $"Agent '{agent.Name}' exited with code {exitCode}."
                + (tail.Length == 0 ? " Its standard error was empty." : $" Its standard error{(standardError.IsCut ? " ends with" : " is")}:\n{tail}"));
        }
        finally
        {
            if (!cleanedUp && group is not null)
            {
                await KillTreeAsync(process, group, task);
                await RemoveGroupAsync(group);
            }
        }
    }

    /// <summary>Whether <paramref name="process"/> was started, so that it has a pid.</summary>
    private static bool HasStarted(Process process)
    {
        try
        {
            _ = process.Id;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// An exit by SIGKILL (128 + 9) or another failure, with the kernel's OOM killer counted in the
    /// group, or with the v1 limit hit and the program killed.
    /// </summary>
    private static bool IsMemoryKill(int exitCode, long? oomKills, long? memoryFailCount) =>
        oomKills > 0 || (exitCode == 137 && memoryFailCount > 0);

    private static async Task WriteInputAsync(Process process, string? input)
    {
        try
        {
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited, or closed its standard input, before reading all of it.
        }
    }

    private static async Task StopReadingAsync(Task reading, CancellationTokenSource stopReading)
    {
        try
        {
            await reading.WaitAsync(OutputDrainGrace);
        }
        catch (TimeoutException)
        {
            // Only a process outside the group, without a cgroup, can still hold the pipes open.
            await stopReading.CancelAsync();
            try
            {
                await reading.WaitAsync(OutputDrainGrace);
            }
            catch (Exception exception) when (exception is OperationCanceledException or TimeoutException or IOException)
            {
                // The pipe is abandoned; disposing the process closes this side of it.
            }
        }
        catch (IOException)
        {
            // A broken pipe ends the output as well as a closed one.
        }
    }

    private string ResolveWorkingDirectory(ProcessAgentSpec spec, string workspacePath)
    {
        var directory = spec.WorkingDirectory is { } configured ? Path.GetFullPath(configured, workspacePath) : workspacePath;
        if (!Directory.Exists(directory))
        {
            throw new AgentRunException("invalid_working_directory",
                $"The workingDirectory '{directory}' does not exist; create it or change workingDirectory in the agent file.");
        }

        return directory;
    }

    /// <summary>
    /// Returns the CPU list in force: the agent's, limited to the lane's where the lane has one,
    /// or the lane's alone. Every CPU must be one the service itself may run on.
    /// </summary>
    private string? ResolveCpus(AgentDefinition agent, string? agentCpus, string lane)
    {
        var laneCpus = _lanes.CpuLists.GetValueOrDefault(lane);
        if (agentCpus is null && laneCpus is null)
        {
            return null;
        }

        IReadOnlyList<int> cpus = [];
        if (agentCpus is not null)
        {
            CpuAffinity.TryParseList(agentCpus, out cpus);
        }

        if (laneCpus is not null)
        {
            CpuAffinity.TryParseList(laneCpus, out var laneList);
            cpus = agentCpus is null ? laneList : [.. cpus.Intersect(laneList)];
            if (cpus.Count == 0)
            {
                throw new AgentRunException("invalid_cpus",
                    $"Agent '{agent.Name}' has cpus '{agentCpus}', none of which lane '{lane}' allows (Lanes:{lane}:Cpus is '{laneCpus}').");
            }
        }

        if (_resources.Read().Affinity is { } allowed && cpus.Except(allowed).ToList() is { Count: > 0 } outside)
        {
            throw new AgentRunException("invalid_cpus",
                $"Agent '{agent.Name}' would run on CPUs {string.Join(',', outside)}, which the service may not use; it may use {string.Join(',', allowed)}.");
        }

        return CpuAffinity.FormatList(cpus);
    }

    private void ReportStart(
        AgentTask task,
        AgentDefinition agent,
        int processId,
        string command,
        CgroupSetup setup,
        IReadOnlyList<ProcessLimitStatus> limits,
        IAgentRunObserver? observer)
    {
        ProcessesLog.ProcessStarted(_logger, task.Id, agent.Name, processId, command, setup.Group?.Version);
        observer?.OnEvent(TaskEventTypes.ProcessStarted, new
        {
            pid = processId,
            command,
            cgroup = setup.Group is { } group ? new { version = group.Version, directories = group.Directories } : null,
            limits = limits.Select(ToEventData),
        });

        var notApplied = limits.Where(limit => !limit.Applied || limit.Reason is not null).ToList();
        if (notApplied.Count == 0)
        {
            return;
        }

        observer?.OnEvent(TaskEventTypes.LimitsNotApplied, new { limits = notApplied.Select(ToEventData) });
        var text = string.Join("; ", notApplied.Select(limit => $"{limit.Limit} {limit.Value}: {(limit.Applied ? "only through " + limit.Method + ", because " : "not applied, because ")}{limit.Reason}"));
        ProcessesLog.LimitsNotApplied(_logger, task.Id, agent.Name, text);
    }

    private static object ToEventData(ProcessLimitStatus limit) =>
        new { limit = limit.Limit, value = limit.Value, applied = limit.Applied, method = limit.Method, reason = limit.Reason };

    /// <summary>Kills the program and everything it started: through the cgroup where there is one, else its process group and tree.</summary>
    private async Task KillTreeAsync(Process process, CgroupRunGroup? group, AgentTask task)
    {
        if (!HasStarted(process))
        {
            return;
        }

        if (group is not null)
        {
            if (!await group.KillMembersAsync(_timeProvider))
            {
                ProcessesLog.MembersSurvived(_logger, task.Id, string.Join(", ", group.Directories));
            }
        }
        else
        {
            // NOTE: without a cgroup, a descendant that started a session or process group of
            // its own (setsid, a daemon's double fork) is not found and keeps running.
            if (_tools.Setsid is not null)
            {
                NativeSignals.KillProcessGroup(process.Id);
            }

            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception exception) when (exception is InvalidOperationException or Win32Exception)
            {
                // It exited meanwhile.
            }
        }

        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(KillWait, _timeProvider);
        }
        catch (TimeoutException)
        {
            ProcessesLog.MembersSurvived(_logger, task.Id, process.Id.ToString(CultureInfo.InvariantCulture));
        }
    }

    private async Task RemoveGroupAsync(CgroupRunGroup? group)
    {
        if (group is null)
        {
            return;
        }

        foreach (var failure in await group.RemoveAsync(_timeProvider))
        {
            ProcessesLog.CgroupNotRemoved(_logger, failure.Directory, failure.Reason);
        }
    }
}

using System.Runtime.InteropServices;

namespace AgentApi.Processes;

/// <summary>Sends signals with <c>kill(2)</c>, which also reaches a whole process group.</summary>
internal static class NativeSignals
{
    private const int SigKill = 9;

    /// <summary>Sends SIGKILL to <paramref name="pid"/>; returns false when it failed, as for a process that has already exited.</summary>
    public static bool KillProcess(int pid) => pid > 0 && Kill(pid, SigKill) == 0;

    /// <summary>Sends SIGKILL to every process of the process group <paramref name="processGroupId"/>.</summary>
    public static bool KillProcessGroup(int processGroupId) => processGroupId > 0 && Kill(-processGroupId, SigKill) == 0;

    // DllImport rather than LibraryImport, whose generated code needs unsafe code enabled for the whole project.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}

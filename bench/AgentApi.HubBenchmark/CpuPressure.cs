using System.Globalization;

namespace AgentApi.HubBenchmark;

/// <summary>
/// Linux pressure stall information for CPU (<c>/proc/pressure/cpu</c>): the time during which at
/// least one runnable task of the machine, or of this cgroup, waited for a CPU. Other work on the
/// machine shows up here; this benchmark's own threads do too once they want more than the cores.
/// </summary>
internal static class CpuPressure
{
    private const string PressureFile = "/proc/pressure/cpu";

    /// <summary>Returns the total stall time so far, or null where the kernel does not report it.</summary>
    public static TimeSpan? ReadTotal()
    {
        if (!File.Exists(PressureFile))
        {
            return null;
        }

        // The first line reads: some avg10=1.23 avg60=4.56 avg300=7.89 total=123456 (microseconds).
        var some = File.ReadLines(PressureFile).FirstOrDefault(line => line.StartsWith("some ", StringComparison.Ordinal));
        var total = some?.Split(' ').FirstOrDefault(field => field.StartsWith("total=", StringComparison.Ordinal));
        return total is not null && long.TryParse(total["total=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds)
            ? TimeSpan.FromMicroseconds(microseconds)
            : null;
    }
}

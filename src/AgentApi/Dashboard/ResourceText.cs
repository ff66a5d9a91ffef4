using System.Globalization;
using AgentApi.Processes;

namespace AgentApi.Dashboard;

/// <summary>Formats the values of <see cref="SystemResources"/> for the system page.</summary>
public static class ResourceText
{
    /// <summary>The text for a limit that is null: not limited, or not applying to this cgroup version.</summary>
    public const string NotLimited = "not limited";

    /// <summary>The text for a measured value that could not be read.</summary>
    public const string NotAvailable = "not available";

    /// <summary>Writes CPU numbers as ranges, such as <c>0-3, 6</c> for 0, 1, 2, 3 and 6.</summary>
    public static string CpuList(IReadOnlyList<int>? cpus)
    {
        if (cpus is null || cpus.Count == 0)
        {
            return NotAvailable;
        }

        List<string> ranges = [];
        var sorted = cpus.Order().ToList();
        var first = sorted[0];
        var last = first;
        foreach (var cpu in sorted.Skip(1))
        {
            if (cpu == last + 1)
            {
                last = cpu;
                continue;
            }

            ranges.Add(Range(first, last));
            first = last = cpu;
        }

        ranges.Add(Range(first, last));
        return string.Join(", ", ranges);
    }

    /// <summary>Writes a byte count in MiB or GiB with the exact count, such as <c>512.0 MiB (536870912 bytes)</c>.</summary>
    public static string Bytes(long? bytes, string whenNull = NotLimited)
    {
        if (bytes is not { } value)
        {
            return whenNull;
        }

        var mebibytes = value / (1024.0 * 1024.0);
        var size = mebibytes >= 1024
            ? string.Create(CultureInfo.InvariantCulture, $"{mebibytes / 1024:0.00} GiB")
            : string.Create(CultureInfo.InvariantCulture, $"{mebibytes:0.0} MiB");
        return string.Create(CultureInfo.InvariantCulture, $"{size} ({value} bytes)");
    }

    /// <summary>Writes a CPU quota with its period and the CPUs' worth of time it allows, such as <c>50000 µs per 100000 µs (0.50 CPUs)</c>.</summary>
    public static string CpuQuota(CgroupCpuResources cpu)
    {
        if (cpu.QuotaUs is not { } quota)
        {
            return NotLimited;
        }

        if (cpu.PeriodUs is not { } period || period <= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{quota} µs per period");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{quota} µs per {period} µs ({(double)quota / period:0.00} CPUs)");
    }

    /// <summary>Writes a number, or <paramref name="whenNull"/> for null.</summary>
    public static string Number(long? value, string whenNull = NotLimited) =>
        value?.ToString(CultureInfo.InvariantCulture) ?? whenNull;

    private static string Range(int first, int last) =>
        first == last
            ? first.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{first}-{last}");
}

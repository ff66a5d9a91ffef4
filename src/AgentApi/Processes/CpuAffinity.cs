using System.Globalization;

namespace AgentApi.Processes;

/// <summary>
/// Parses the kernel's CPU list format, such as <c>0-3,8,10-11</c>, used by <c>Cpus_allowed_list</c>
/// in <c>/proc/self/status</c> and by the cgroup <c>cpuset</c> files.
/// </summary>
public static class CpuAffinity
{
    /// <summary>
    /// The largest CPU number accepted. Linux allows at most 8,192 CPUs (<c>CONFIG_NR_CPUS</c> on x86-64),
    /// so a larger number is a malformed list rather than a real machine.
    /// </summary>
    public const int MaxCpuNumber = 65_535;

    private const string AllowedListField = "Cpus_allowed_list:";

    /// <summary>
    /// Parses a CPU list into sorted, distinct CPU numbers. An empty or blank list is an empty set.
    /// Returns false for anything else that is not a comma-separated list of numbers and
    /// ascending <c>first-last</c> ranges.
    /// </summary>
    public static bool TryParseList(string text, out IReadOnlyList<int> cpus)
    {
        cpus = [];
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            return true;
        }

        SortedSet<int> numbers = [];
        foreach (var part in trimmed.Split(','))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (!TryParseCpu(part, out var single))
                {
                    return false;
                }

                numbers.Add(single);
                continue;
            }

            if (!TryParseCpu(part[..dash], out var first) || !TryParseCpu(part[(dash + 1)..], out var last) || last < first)
            {
                return false;
            }

            for (var cpu = first; cpu <= last; cpu++)
            {
                numbers.Add(cpu);
            }
        }

        cpus = [.. numbers];
        return true;
    }

    /// <summary>
    /// Finds the <c>Cpus_allowed_list</c> line in the text of <c>/proc/&lt;pid&gt;/status</c> and parses it.
    /// Returns null when the line is missing or malformed.
    /// </summary>
    public static IReadOnlyList<int>? ParseStatus(string statusText)
    {
        foreach (var line in statusText.Split('\n'))
        {
            if (line.StartsWith(AllowedListField, StringComparison.Ordinal))
            {
                return TryParseList(line[AllowedListField.Length..], out var cpus) ? cpus : null;
            }
        }

        return null;
    }

    /// <summary>Writes CPU numbers in the kernel's CPU list format, with ranges: <c>0-2,5</c> for 0, 1, 2 and 5.</summary>
    public static string FormatList(IEnumerable<int> cpus)
    {
        List<string> parts = [];
        int? first = null;
        var last = 0;
        foreach (var cpu in cpus.Distinct().Order())
        {
            if (first is not null && cpu == last + 1)
            {
                last = cpu;
                continue;
            }

            if (first is { } start)
            {
                parts.Add(start == last ? $"{start}" : $"{start}-{last}");
            }

            first = last = cpu;
        }

        if (first is { } end)
        {
            parts.Add(end == last ? $"{end}" : $"{end}-{last}");
        }

        return string.Join(',', parts);
    }

    private static bool TryParseCpu(string text, out int cpu) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out cpu) && cpu <= MaxCpuNumber;
}

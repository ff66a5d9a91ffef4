using System.Globalization;
using System.Text.RegularExpressions;

namespace AgentApi.Processes;

/// <summary>
/// Parses sizes written as Kubernetes writes memory quantities: a whole number of bytes, or one
/// with a binary suffix (<c>Ki</c>, <c>Mi</c>, <c>Gi</c>, <c>Ti</c>) or a decimal one (<c>K</c>,
/// <c>M</c>, <c>G</c>, <c>T</c>), such as <c>512Mi</c> for 536,870,912 bytes.
/// </summary>
public static partial class ByteSize
{
    /// <summary>Returns false for anything else, and for a value above <see cref="long.MaxValue"/> bytes.</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var match = SizePattern().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups["number"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        long multiplier = match.Groups["unit"].Value switch
        {
            "" => 1,
            "K" => 1000,
            "M" => 1000 * 1000,
            "G" => 1000 * 1000 * 1000,
            "T" => 1000L * 1000 * 1000 * 1000,
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            _ => 1L << 40,
        };

        if (number > long.MaxValue / multiplier)
        {
            return false;
        }

        bytes = number * multiplier;
        return true;
    }

    /// <summary>Writes <paramref name="bytes"/> with the largest binary suffix that divides it, such as <c>64Mi</c>.</summary>
    public static string Format(long bytes)
    {
        (long Size, string Unit)[] units = [(1L << 40, "Ti"), (1L << 30, "Gi"), (1L << 20, "Mi"), (1L << 10, "Ki")];
        foreach (var (size, unit) in units)
        {
            if (bytes >= size && bytes % size == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{bytes / size}{unit}");
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^(?<number>[0-9]{1,19})(?<unit>|K|M|G|T|Ki|Mi|Gi|Ti)\z", RegexOptions.CultureInvariant)]
    private static partial Regex SizePattern();
}

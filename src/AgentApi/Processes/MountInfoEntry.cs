using System.Text;

namespace AgentApi.Processes;

/// <summary>One line of <c>/proc/self/mountinfo</c>, reduced to the fields the cgroup reader needs.</summary>
/// <param name="Root">The directory of the mounted file system that appears at the mount point, such as <c>/</c> or a container's cgroup.</param>
/// <param name="MountPoint">Where the file system is mounted, such as <c>/sys/fs/cgroup/memory</c>.</param>
/// <param name="FileSystemType"><c>cgroup</c> for a v1 hierarchy, <c>cgroup2</c> for the unified one.</param>
/// <param name="SuperOptions">The per-superblock options, where a v1 hierarchy lists its controllers.</param>
internal sealed record MountInfoEntry(string Root, string MountPoint, string FileSystemType, IReadOnlyList<string> SuperOptions)
{
    /// <summary>
    /// Parses mountinfo lines as proc(5) describes them: mount id, parent id, major:minor, root,
    /// mount point, mount options, optional fields ended by <c>-</c>, file system type, source and
    /// super options. Malformed lines are skipped.
    /// </summary>
    public static IReadOnlyList<MountInfoEntry> ParseAll(IEnumerable<string> lines)
    {
        List<MountInfoEntry> entries = [];
        foreach (var line in lines)
        {
            if (TryParse(line, out var entry))
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    public bool IsCgroupVersion1 => FileSystemType == "cgroup";

    public bool IsCgroupVersion2 => FileSystemType == "cgroup2";

    private static bool TryParse(string line, out MountInfoEntry entry)
    {
        entry = null!;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 10)
        {
            return false;
        }

        var separator = Array.IndexOf(fields, "-", 6);
        if (separator < 0 || fields.Length < separator + 4)
        {
            return false;
        }

        entry = new MountInfoEntry(
            Unescape(fields[3]),
            Unescape(fields[4]),
            fields[separator + 1],
            fields[separator + 3].Split(','));
        return true;
    }

    /// <summary>Decodes the octal escapes (<c>\040</c> for a space) the kernel writes for space, tab, newline and backslash.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        StringBuilder builder = new(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                builder.Append((char)(((field[i + 1] - '0') * 64) + ((field[i + 2] - '0') * 8) + (field[i + 3] - '0')));
                i += 3;
                continue;
            }

            builder.Append(field[i]);
        }

        return builder.ToString();
    }

    private static bool IsOctal(string text, int start) =>
        start + 2 < text.Length && text[start] is >= '0' and <= '7' && text[start + 1] is >= '0' and <= '7' && text[start + 2] is >= '0' and <= '7';
}

namespace AgentApi.Tests.Processes;

/// <summary>
/// A temporary folder read as <c>/</c>: tests write the <c>/proc</c> and <c>/sys</c> files
/// the readers look for, at their absolute paths inside it.
/// </summary>
public sealed class FixtureRoot : IDisposable
{
    /// <summary>A unified cgroup v2 mount at <c>/sys/fs/cgroup</c>, with an optional field as systemd writes it.</summary>
    public const string Version2Mount =
        "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

    private const string RootMount = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";

    public FixtureRoot()
    {
        Path = Directory.CreateTempSubdirectory("agentapi-fixture-root-").FullName;
    }

    public string Path { get; }

    /// <summary>Writes <paramref name="content"/> to <paramref name="absolutePath"/> inside the fixture, creating its folders.</summary>
    public FixtureRoot Write(string absolutePath, string content)
    {
        var path = Resolve(absolutePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return this;
    }

    public FixtureRoot CreateDirectory(string absolutePath)
    {
        Directory.CreateDirectory(Resolve(absolutePath));
        return this;
    }

    /// <summary>Writes the <c>/proc/self</c> files of a process in <paramref name="cgroupPath"/> of the unified hierarchy only.</summary>
    public FixtureRoot WriteVersion2Process(string cgroupPath, string mountLine = Version2Mount) =>
        Write("/proc/self/cgroup", $"0::{cgroupPath}\n").Write("/proc/self/mountinfo", RootMount + mountLine);

    public string Resolve(string absolutePath) => System.IO.Path.Join(Path, absolutePath.TrimStart('/'));

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

using System.Text;
using AgentApi.Agents.Files;

namespace AgentApi.Tests.Agents;

/// <summary><see cref="AgentDirectoryLoader"/> on a temporary folder of real files.</summary>
public sealed class AgentDirectoryLoaderTests : IDisposable
{
    private static readonly string[] Models = ["Default"];
    private readonly string _directory = Directory.CreateTempSubdirectory("agentapi-agents-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Load_MissingFolder_ReportsAbsentAndNothingElse()
    {
        var contents = AgentDirectoryLoader.Load(Path.Combine(_directory, "absent"), Models);

        Assert.False(contents.Exists);
        Assert.Empty(contents.Agents);
        Assert.Empty(contents.Broken);
    }

    [Fact]
    public void Load_SameNameTwice_FirstFileNameWins()
    {
        Write("b-second.md", AgentFile("twin", "From b."));
        Write("a-first.md", AgentFile("twin", "From a."));
        Write("B-upper.md", AgentFile("twin", "From B."));

        var contents = AgentDirectoryLoader.Load(_directory, Models);

        var agent = Assert.Single(contents.Agents);
        Assert.Equal("From B.", agent.Description);
        Assert.Equal(Path.Combine(_directory, "B-upper.md"), agent.Source);
        Assert.Equal([Path.Combine(_directory, "a-first.md"), Path.Combine(_directory, "b-second.md")], contents.Broken.Select(file => file.File));
        Assert.All(contents.Broken, file => Assert.Equal(
            "agent 'twin' is already defined by 'B-upper.md', which comes first in file-name order",
            file.Reason));
    }

    [Fact]
    public void Load_OtherFiles_AreIgnored()
    {
        Write("agent.md", AgentFile("kept", "A Markdown file."));
        Write("UPPER.MD", AgentFile("upper", "An upper-case extension."));
        Write("notes.txt", "not an agent");
        Write("agent.md.bak", AgentFile("backup", "A backup."));
        Write(".hidden.md", AgentFile("hidden", "A hidden file."));
        Directory.CreateDirectory(Path.Combine(_directory, "nested"));
        File.WriteAllText(Path.Combine(_directory, "nested", "deep.md"), AgentFile("deep", "In a subfolder."));

        var contents = AgentDirectoryLoader.Load(_directory, Models);

        Assert.Equal(["kept", "upper"], contents.Agents.Select(agent => agent.Name).Order(StringComparer.Ordinal));
        Assert.Empty(contents.Broken);
    }

    [Fact]
    public void Load_FileOverSizeLimit_IsBroken()
    {
        var prompt = new string('x', AgentDirectoryLoader.MaxFileBytes);
        Write("large.md", AgentFile("large", "Too large.", prompt));

        var contents = AgentDirectoryLoader.Load(_directory, Models);

        Assert.Empty(contents.Agents);
        var broken = Assert.Single(contents.Broken);
        Assert.StartsWith("the file has ", broken.Reason, StringComparison.Ordinal);
        Assert.EndsWith($"bytes; agent files may have at most {AgentDirectoryLoader.MaxFileBytes}", broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidUtf8_IsBroken()
    {
        var bytes = Encoding.UTF8.GetBytes(AgentFile("latin", "Latin-1 text.")).Concat(new byte[] { 0xE9, 0x0A }).ToArray();
        File.WriteAllBytes(Path.Combine(_directory, "latin.md"), bytes);

        var contents = AgentDirectoryLoader.Load(_directory, Models);

        Assert.Empty(contents.Agents);
        Assert.Equal("the file is not valid UTF-8", Assert.Single(contents.Broken).Reason);
    }

    [Fact]
    public void Load_Utf8WithBom_IsRead()
    {
        File.WriteAllText(Path.Combine(_directory, "bom.md"), AgentFile("bom", "Written with a BOM."), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var contents = AgentDirectoryLoader.Load(_directory, Models);

        Assert.Equal("bom", Assert.Single(contents.Agents).Name);
    }

    [Fact]
    public void Load_PathIsAFile_ListsTheFolderAsBroken()
    {
        var file = Path.Combine(_directory, "not-a-folder");
        File.WriteAllText(file, "plain file");

        var contents = AgentDirectoryLoader.Load(file, Models);

        Assert.True(contents.Exists);
        var broken = Assert.Single(contents.Broken);
        Assert.Equal(file, broken.File);
        Assert.Equal("the path is a file, not a folder of agent files", broken.Reason);
    }

    internal static string AgentFile(string name, string description, string prompt = "You help.") =>
        $"---\nname: {name}\ndescription: {description}\n---\n{prompt}\n";

    private void Write(string fileName, string text) => File.WriteAllText(Path.Combine(_directory, fileName), text);
}

using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

public sealed class ListFilesToolTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task ListFiles_Folder_ReturnsSortedEntries()
    {
        _sandbox.WriteFile("b.txt", "b");
        _sandbox.WriteFile("a.txt", "a");
        _sandbox.WriteFile(".hidden", "h");
        _sandbox.WriteFile("src/main.cs", "m");
        var tool = new ListFilesTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { });

        Assert.Equal(".hidden\na.txt\nb.txt\nsrc/\n", result);
    }

    [Fact]
    public async Task ListFiles_Subfolder_ListsOnlyItsEntries()
    {
        _sandbox.WriteFile("src/main.cs", "m");
        _sandbox.WriteFile("src/lib/util.cs", "u");
        var tool = new ListFilesTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "src" });

        Assert.Equal("lib/\nmain.cs\n", result);
    }

    [Fact]
    public async Task ListFiles_ManyEntries_AreCapped()
    {
        for (var i = 0; i < 12; i++)
        {
            _sandbox.WriteFile($"file{i:D2}.txt", "x");
        }

        var tool = new ListFilesTool(ToolSandbox.Options(options => options.MaxEntries = 5));

        var result = await _sandbox.InvokeAsync(tool, new { path = "." });

        Assert.StartsWith("file00.txt\nfile01.txt\nfile02.txt\nfile03.txt\nfile04.txt\n", result, StringComparison.Ordinal);
        Assert.DoesNotContain("file05.txt", result, StringComparison.Ordinal);
        Assert.Contains("[7 more entries not shown", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListFiles_LinksOutside_AreLeftOut()
    {
        _sandbox.CreateEscapeLinks();
        _sandbox.WriteFile("kept.txt", "k");
        Directory.CreateDirectory(Path.Join(_sandbox.WorkspacePath, "docs"));
        Directory.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "docs-link"), "docs");
        var tool = new ListFilesTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { });

        Assert.Equal("docs-link/\ndocs/\nkept.txt\n", result);
    }

    [Fact]
    public async Task ListFiles_File_IsRejected()
    {
        _sandbox.WriteFile("a.txt", "a");
        var tool = new ListFilesTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "a.txt" });

        Assert.Equal("not_a_directory", exception.Code);
    }

    [Fact]
    public async Task ListFiles_MissingFolder_IsNotFound()
    {
        var tool = new ListFilesTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "nope" });

        Assert.Equal("not_found", exception.Code);
    }
}

using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

public sealed class GrepToolTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public GrepToolTests()
    {
        _sandbox.WriteFile("src/a.cs", "class A\n{\n    // TODO: fix A\n}\n");
        _sandbox.WriteFile("src/b.txt", "nothing\nTODO: b\n");
        _sandbox.WriteFile("notes.md", "no match here\n");
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Grep_Pattern_ReturnsPathLineAndText()
    {
        var tool = new GrepTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "TODO: \\w" });

        Assert.Equal("src/a.cs:3:     // TODO: fix A\nsrc/b.txt:2: TODO: b", result);
    }

    [Fact]
    public async Task Grep_Glob_SearchesOnlyMatchingFiles()
    {
        var tool = new GrepTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "TODO", glob = "**/*.cs" });

        Assert.Equal("src/a.cs:3:     // TODO: fix A", result);
    }

    [Fact]
    public async Task Grep_SingleFilePath_SearchesThatFile()
    {
        var tool = new GrepTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "TODO", path = "src/b.txt" });

        Assert.Equal("src/b.txt:2: TODO: b", result);
    }

    [Fact]
    public async Task Grep_BinaryFile_IsSkipped()
    {
        await File.WriteAllBytesAsync(Path.Join(_sandbox.WorkspacePath, "blob.bin"), [(byte)'T', (byte)'O', (byte)'D', (byte)'O', 0, 1, 2]);
        var tool = new GrepTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "TODO" });

        Assert.DoesNotContain("blob.bin", result, StringComparison.Ordinal);
        Assert.Contains("src/b.txt:2:", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grep_LinksOutside_AreSkipped()
    {
        _sandbox.CreateEscapeLinks();
        var tool = new GrepTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "secret" });

        Assert.Equal("No lines match 'secret'.", result);
    }

    [Fact]
    public async Task Grep_ManyMatches_AreCapped()
    {
        _sandbox.WriteFile("many.txt", string.Join('\n', Enumerable.Repeat("hit", 50)));
        var tool = new GrepTool(ToolSandbox.Options(options => options.MaxGrepMatches = 3));

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "hit", path = "many.txt" });

        Assert.Equal(
            "many.txt:1: hit\nmany.txt:2: hit\nmany.txt:3: hit\n[Stopped at 3 matching lines. Narrow the pattern, path or glob to see the rest.]",
            result);
    }

    [Fact]
    public async Task Grep_InvalidPattern_IsInvalidArgument()
    {
        var tool = new GrepTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { pattern = "(unclosed" });

        Assert.Equal("invalid_argument", exception.Code);
    }

    [Fact]
    public async Task Grep_CatastrophicPattern_TimesOut()
    {
        _sandbox.WriteFile("slow.txt", new string('a', 40) + "!");
        var tool = new GrepTool(ToolSandbox.Options(options => options.GrepMatchTimeout = TimeSpan.FromMilliseconds(20)));

        var exception = await _sandbox.InvokeFailingAsync(tool, new { pattern = "^(a+)+$", path = "slow.txt" });

        Assert.Equal("timeout", exception.Code);
    }
}

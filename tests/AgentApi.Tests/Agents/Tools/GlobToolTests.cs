using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

public sealed class GlobToolTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public GlobToolTests()
    {
        _sandbox.WriteFile("src/Program.cs", "p");
        _sandbox.WriteFile("src/Lib/Util.cs", "u");
        _sandbox.WriteFile("src/readme.md", "r");
        _sandbox.WriteFile("tests/UtilTests.cs", "t");
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Glob_RecursivePattern_ReturnsSortedRelativePaths()
    {
        var tool = new GlobTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "**/*.cs" });

        Assert.Equal("src/Lib/Util.cs\nsrc/Program.cs\ntests/UtilTests.cs", result);
    }

    [Fact]
    public async Task Glob_WithPath_MatchesBelowIt()
    {
        var tool = new GlobTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "*.cs", path = "src" });

        Assert.Equal("src/Program.cs", result);
    }

    [Fact]
    public async Task Glob_LinksOutside_AreSkipped()
    {
        _sandbox.CreateEscapeLinks();
        var tool = new GlobTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "**/*" });

        Assert.DoesNotContain("secret", result, StringComparison.Ordinal);
        Assert.DoesNotContain("link", result, StringComparison.Ordinal);
        Assert.Contains("src/Program.cs", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Glob_LinkedFolderInside_IsNotEntered()
    {
        Directory.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "src-link"), "src");
        Directory.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "src", "loop"), "..");
        var tool = new GlobTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "**/*.cs" });

        Assert.Equal("src/Lib/Util.cs\nsrc/Program.cs\ntests/UtilTests.cs", result);
    }

    [Fact]
    public async Task Glob_ManyMatches_AreCapped()
    {
        var tool = new GlobTool(ToolSandbox.Options(options => options.MaxEntries = 2));

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "**/*" });

        Assert.StartsWith("src/Lib/Util.cs\nsrc/Program.cs\n", result, StringComparison.Ordinal);
        Assert.Contains("[2 more matches not shown", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Glob_NoMatch_SaysSo()
    {
        var tool = new GlobTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { pattern = "**/*.java" });

        Assert.Equal("No files match '**/*.java'.", result);
    }
}

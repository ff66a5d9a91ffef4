using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

/// <summary>
/// Every way out of the workspace, tried with each file tool. Each case must fail with
/// <c>outside_workspace</c> and leave the files outside untouched.
/// </summary>
public sealed class SandboxEscapeTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public SandboxEscapeTests()
    {
        _sandbox.CreateEscapeLinks();
        _sandbox.WriteFile("sub/inside.txt", "inside");
    }

    public void Dispose() => _sandbox.Dispose();

    [Theory]
    [InlineData("dot-dot")]
    [InlineData("dot-dot-through-subfolder")]
    [InlineData("absolute")]
    [InlineData("linked-file")]
    [InlineData("linked-folder")]
    [InlineData("prefix-sibling")]
    [InlineData("prefix-link")]
    [InlineData("dangling-link")]
    public async Task ReadFile_PathOutsideWorkspace_IsRejected(string escape)
    {
        var tool = new ReadFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = FilePath(escape) });

        Assert.Equal("outside_workspace", exception.Code);
        Assert.DoesNotContain(ToolSandbox.SecretText, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dot-dot")]
    [InlineData("dot-dot-through-subfolder")]
    [InlineData("absolute")]
    [InlineData("linked-file")]
    [InlineData("linked-folder")]
    [InlineData("linked-folder-new-subfolder")]
    [InlineData("prefix-sibling")]
    [InlineData("prefix-link")]
    [InlineData("dangling-link")]
    public async Task WriteFile_PathOutsideWorkspace_IsRejected(string escape)
    {
        var tool = new WriteFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = FilePath(escape), content = "overwritten" });

        Assert.Equal("outside_workspace", exception.Code);
        AssertOutsideUntouched();
    }

    [Theory]
    [InlineData("dot-dot")]
    [InlineData("absolute")]
    [InlineData("linked-file")]
    [InlineData("linked-folder")]
    [InlineData("prefix-sibling")]
    [InlineData("prefix-link")]
    public async Task EditFile_PathOutsideWorkspace_IsRejected(string escape)
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(
            tool,
            new { path = FilePath(escape), old_text = ToolSandbox.SecretText, new_text = "changed" });

        Assert.Equal("outside_workspace", exception.Code);
        AssertOutsideUntouched();
    }

    [Theory]
    [InlineData("dot-dot")]
    [InlineData("absolute")]
    [InlineData("linked-file")]
    [InlineData("linked-folder")]
    [InlineData("prefix-sibling")]
    [InlineData("prefix-link")]
    public async Task ListFiles_PathOutsideWorkspace_IsRejected(string escape)
    {
        var tool = new ListFilesTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = FolderPath(escape) });

        Assert.Equal("outside_workspace", exception.Code);
        Assert.DoesNotContain("secret.txt", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dot-dot")]
    [InlineData("absolute")]
    [InlineData("linked-file")]
    [InlineData("linked-folder")]
    [InlineData("prefix-sibling")]
    [InlineData("prefix-link")]
    public async Task Grep_PathOutsideWorkspace_IsRejected(string escape)
    {
        var tool = new GrepTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { pattern = "secret", path = FolderPath(escape) });

        Assert.Equal("outside_workspace", exception.Code);
    }

    [Theory]
    [InlineData("dot-dot")]
    [InlineData("absolute")]
    [InlineData("linked-folder")]
    [InlineData("prefix-sibling")]
    [InlineData("prefix-link")]
    public async Task Glob_PathOutsideWorkspace_IsRejected(string escape)
    {
        var tool = new GlobTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { pattern = "**/*", path = FolderPath(escape) });

        Assert.Equal("outside_workspace", exception.Code);
    }

    private string FilePath(string escape) => escape switch
    {
        "dot-dot" => "../outside/secret.txt",
        "dot-dot-through-subfolder" => "sub/../../outside/secret.txt",
        "absolute" => Path.Join(_sandbox.OutsidePath, "secret.txt"),
        "linked-file" => "link-file",
        "linked-folder" => "link-dir/secret.txt",
        "linked-folder-new-subfolder" => "link-dir/new-folder/file.txt",
        "prefix-sibling" => "../ws-evil/secret.txt",
        "prefix-link" => "evil-link/secret.txt",
        "dangling-link" => "dangling-link",
        _ => throw new ArgumentOutOfRangeException(nameof(escape), escape, "Unknown escape case."),
    };

    private string FolderPath(string escape) => escape switch
    {
        "dot-dot" => "../outside",
        "absolute" => _sandbox.OutsidePath,
        "linked-file" => "link-file",
        "linked-folder" => "link-dir",
        "prefix-sibling" => "../ws-evil",
        "prefix-link" => "evil-link",
        _ => throw new ArgumentOutOfRangeException(nameof(escape), escape, "Unknown escape case."),
    };

    private void AssertOutsideUntouched()
    {
        Assert.Equal(ToolSandbox.SecretText, File.ReadAllText(Path.Join(_sandbox.OutsidePath, "secret.txt")));
        Assert.Equal(ToolSandbox.SecretText, File.ReadAllText(Path.Join(_sandbox.EvilPath, "secret.txt")));
        Assert.False(File.Exists(Path.Join(_sandbox.OutsidePath, "created-through-link.txt")));
        Assert.False(Directory.Exists(Path.Join(_sandbox.OutsidePath, "new-folder")));
    }
}

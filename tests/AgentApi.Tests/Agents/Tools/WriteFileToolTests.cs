using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

public sealed class WriteFileToolTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task WriteFile_NestedPath_CreatesFolders()
    {
        var tool = new WriteFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "a/b/c.txt", content = "grüße\n" });

        var bytes = await File.ReadAllBytesAsync(Path.Join(_sandbox.WorkspacePath, "a", "b", "c.txt"));
        Assert.Equal("grüße\n"u8.ToArray(), bytes);
        Assert.Equal("Wrote 8 bytes to 'a/b/c.txt'.", result);
    }

    [Fact]
    public async Task WriteFile_ExistingFile_IsReplaced()
    {
        var path = _sandbox.WriteFile("notes.txt", "old content that is longer");
        var tool = new WriteFileTool(ToolSandbox.Options());

        await _sandbox.InvokeAsync(tool, new { path = "notes.txt", content = "new" });

        Assert.Equal("new", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task WriteFile_ContentAboveLimit_IsRejected()
    {
        var tool = new WriteFileTool(ToolSandbox.Options(options => options.MaxWriteBytes = 1024));

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "big.txt", content = new string('x', 1025) });

        Assert.Equal("too_large", exception.Code);
        Assert.False(File.Exists(Path.Join(_sandbox.WorkspacePath, "big.txt")));
    }

    [Fact]
    public async Task WriteFile_FolderPath_IsRejected()
    {
        Directory.CreateDirectory(Path.Join(_sandbox.WorkspacePath, "src"));
        var tool = new WriteFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "src", content = "x" });

        Assert.Equal("not_a_file", exception.Code);
    }

    [Fact]
    public async Task WriteFile_LinkInsideWorkspace_WritesTarget()
    {
        var target = _sandbox.WriteFile("real.txt", "before");
        File.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "alias.txt"), "real.txt");
        var tool = new WriteFileTool(ToolSandbox.Options());

        await _sandbox.InvokeAsync(tool, new { path = "alias.txt", content = "after" });

        Assert.Equal("after", await File.ReadAllTextAsync(target));
    }
}

using System.Text;
using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

public sealed class ReadFileToolTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task ReadFile_TextFile_ReturnsNumberedLines()
    {
        _sandbox.WriteFile("src/app.py", "first\nsecond\nthird\n");
        var tool = new ReadFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "src/app.py" });

        Assert.Equal("     1\tfirst\n     2\tsecond\n     3\tthird\n", result);
    }

    [Fact]
    public async Task ReadFile_HugeLine_IsCutWithItsLength()
    {
        _sandbox.WriteFile("wide.txt", "short\r\n" + new string('a', 3_000_000) + "\rlast\n");
        var tool = new ReadFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "wide.txt" });

        var lines = result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal("     1\tshort", lines[0]);
        Assert.EndsWith(" of 3000000 characters]", lines[1], StringComparison.Ordinal);
        Assert.True(lines[1].Length < 3000, $"The cut line is {lines[1].Length} characters long.");
        Assert.Equal("     3\tlast", lines[2]);
    }

    [Fact]
    public async Task ReadFile_OffsetAndLimit_ReturnsRange()
    {
        _sandbox.WriteFile("lines.txt", string.Join('\n', Enumerable.Range(1, 10).Select(i => $"line {i}")));
        var tool = new ReadFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "lines.txt", offset = 4, limit = 2 });

        Assert.StartsWith("     4\tline 4\n     5\tline 5\n", result, StringComparison.Ordinal);
        Assert.DoesNotContain("line 6", result, StringComparison.Ordinal);
        Assert.Contains("offset 6", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFile_AboveLimit_IsTruncated()
    {
        var line = new string('x', 99);
        _sandbox.WriteFile("big.txt", string.Join('\n', Enumerable.Repeat(line, 1000)));
        var tool = new ReadFileTool(ToolSandbox.Options(options => options.MaxReadBytes = 16 * 1024));

        var result = await _sandbox.InvokeAsync(tool, new { path = "big.txt" });

        // Each line takes 107 bytes: a 6-character number, a tab, 99 characters and a line break.
        var note = result[result.IndexOf('[', StringComparison.Ordinal)..];
        Assert.Equal(153 * 107, Encoding.UTF8.GetByteCount(result) - Encoding.UTF8.GetByteCount(note));
        Assert.Equal("[Output truncated at 16 KiB after line 153. Call again with offset 154 to continue.]", note);
    }

    [Fact]
    public async Task ReadFile_BinaryFile_IsRejected()
    {
        await File.WriteAllBytesAsync(Path.Join(_sandbox.WorkspacePath, "image.png"), [0x89, 0x50, 0x4E, 0x47, 0x00, 0x01]);
        var tool = new ReadFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "image.png" });

        Assert.Equal("binary_file", exception.Code);
    }

    [Fact]
    public async Task ReadFile_MissingFile_IsNotFound()
    {
        var tool = new ReadFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "missing.txt" });

        Assert.Equal("not_found", exception.Code);
        Assert.Contains("missing.txt", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFile_Folder_IsRejected()
    {
        Directory.CreateDirectory(Path.Join(_sandbox.WorkspacePath, "src"));
        var tool = new ReadFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "src" });

        Assert.Equal("not_a_file", exception.Code);
    }

    [Fact]
    public async Task ReadFile_LinkInsideWorkspace_ReadsTarget()
    {
        _sandbox.WriteFile("real.txt", "through the link");
        File.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "alias.txt"), "real.txt");
        var tool = new ReadFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "alias.txt" });

        Assert.Equal("     1\tthrough the link\n", result);
    }

    [Fact]
    public async Task ReadFile_MissingPathArgument_IsInvalidArgument()
    {
        var tool = new ReadFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { offset = 1 });

        Assert.Equal("invalid_argument", exception.Code);
    }
}

using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

public sealed class EditFileToolTests : IDisposable
{
    private const string Original = "alpha\nbeta\ngamma beta\n";

    private readonly ToolSandbox _sandbox = new();
    private readonly string _path;

    public EditFileToolTests()
    {
        _path = _sandbox.WriteFile("file.txt", Original);
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task EditFile_UniqueText_IsReplaced()
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "file.txt", old_text = "alpha", new_text = "ALPHA" });

        Assert.Equal("ALPHA\nbeta\ngamma beta\n", await File.ReadAllTextAsync(_path));
        Assert.Equal("Replaced 1 occurrence in 'file.txt'.", result);
    }

    [Fact]
    public async Task EditFile_MissingText_FailsWithNoMatch()
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "file.txt", old_text = "delta", new_text = "x" });

        Assert.Equal("no_match", exception.Code);
        Assert.Equal(Original, await File.ReadAllTextAsync(_path));
    }

    [Fact]
    public async Task EditFile_RepeatedText_FailsWithNotUnique()
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "file.txt", old_text = "beta", new_text = "x" });

        Assert.Equal("not_unique", exception.Code);
        Assert.Contains("2 times", exception.Message, StringComparison.Ordinal);
        Assert.Equal(Original, await File.ReadAllTextAsync(_path));
    }

    [Fact]
    public async Task EditFile_ReplaceAll_ReplacesEveryOccurrence()
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var result = await _sandbox.InvokeAsync(tool, new { path = "file.txt", old_text = "beta", new_text = "BETA", replace_all = true });

        Assert.Equal("alpha\nBETA\ngamma BETA\n", await File.ReadAllTextAsync(_path));
        Assert.Equal("Replaced 2 occurrences in 'file.txt'.", result);
    }

    [Fact]
    public async Task EditFile_MissingFile_IsNotFound()
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "other.txt", old_text = "a", new_text = "b" });

        Assert.Equal("not_found", exception.Code);
    }

    [Fact]
    public async Task EditFile_EmptyOldText_IsInvalidArgument()
    {
        var tool = new EditFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "file.txt", old_text = "", new_text = "b" });

        Assert.Equal("invalid_argument", exception.Code);
    }

    [Fact]
    public async Task EditFile_FileAboveLimit_IsRejected()
    {
        await File.WriteAllTextAsync(_path, new string('a', 2000));
        var tool = new EditFileTool(ToolSandbox.Options(options => options.MaxWriteBytes = 1024));

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "file.txt", old_text = "a", new_text = "b", replace_all = true });

        Assert.Equal("too_large", exception.Code);
    }

    [Fact]
    public async Task EditFile_ResultAboveLimit_IsRejected()
    {
        var tool = new EditFileTool(ToolSandbox.Options(options => options.MaxWriteBytes = 1024));

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "file.txt", old_text = "alpha", new_text = new string('x', 1100) });

        Assert.Equal("too_large", exception.Code);
        Assert.Equal(Original, await File.ReadAllTextAsync(_path));
    }

    [Fact]
    public async Task EditFile_ByteOrderMark_IsKept()
    {
        await File.WriteAllBytesAsync(_path, [0xEF, 0xBB, 0xBF, .. "one two"u8.ToArray()]);
        var tool = new EditFileTool(ToolSandbox.Options());

        await _sandbox.InvokeAsync(tool, new { path = "file.txt", old_text = "two", new_text = "three" });

        Assert.Equal([0xEF, 0xBB, 0xBF, .. "one three"u8.ToArray()], await File.ReadAllBytesAsync(_path));
    }

    [Fact]
    public async Task EditFile_InvalidUtf8_IsRejected()
    {
        byte[] latin1 = [(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)' ', (byte)'x'];
        await File.WriteAllBytesAsync(_path, latin1);
        var tool = new EditFileTool(ToolSandbox.Options());

        var exception = await _sandbox.InvokeFailingAsync(tool, new { path = "file.txt", old_text = "x", new_text = "y" });

        Assert.Equal("invalid_encoding", exception.Code);
        Assert.Equal(latin1, await File.ReadAllBytesAsync(_path));
    }
}

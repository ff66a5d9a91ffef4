using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

/// <summary>Path resolution of <see cref="Workspace"/> and folder creation of <see cref="WorkspaceProvider"/>.</summary>
public sealed class WorkspaceTests : IDisposable
{
    private readonly ToolSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("./")]
    public void ResolvePath_EmptyOrDot_IsWorkspaceRoot(string path)
    {
        var workspace = new Workspace(_sandbox.WorkspacePath);

        Assert.Equal(workspace.Root, workspace.ResolvePath(path));
    }

    [Fact]
    public void ResolvePath_InnerDotDot_IsAllowed()
    {
        var workspace = new Workspace(_sandbox.WorkspacePath);

        var resolved = workspace.ResolvePath("a/b/../c.txt");

        Assert.Equal(Path.Join(workspace.Root, "a", "c.txt"), resolved);
    }

    [Fact]
    public void ResolvePath_MissingFile_ResolvesInside()
    {
        var workspace = new Workspace(_sandbox.WorkspacePath);

        var resolved = workspace.ResolvePath("new/folder/file.txt");

        Assert.Equal(Path.Join(workspace.Root, "new", "folder", "file.txt"), resolved);
    }

    [Fact]
    public void ResolvePath_LinkInsideWorkspace_ResolvesToTarget()
    {
        _sandbox.WriteFile("docs/readme.md", "read me");
        Directory.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "docs-link"), "docs");
        var workspace = new Workspace(_sandbox.WorkspacePath);

        var resolved = workspace.ResolvePath("docs-link/readme.md");

        Assert.Equal(Path.Join(workspace.Root, "docs", "readme.md"), resolved);
    }

    [Fact]
    public void ResolvePath_DotDotAfterLink_IsRejected()
    {
        // 'deep' points to outside/deep, and 'up' points to 'deep/..'. Read as text, 'up' would
        // be the workspace itself, but the kernel resolves 'deep' first and lands in outside/.
        Directory.CreateDirectory(Path.Join(_sandbox.OutsidePath, "deep"));
        Directory.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "deep"), Path.Join(_sandbox.OutsidePath, "deep"));
        Directory.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "up"), "deep/..");
        var workspace = new Workspace(_sandbox.WorkspacePath);

        var exception = Assert.Throws<ToolException>(() => workspace.ResolvePath("up/secret.txt"));

        Assert.Equal("outside_workspace", exception.Code);
    }

    [Fact]
    public void ResolvePath_LinkChainEndingOutside_IsRejected()
    {
        File.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "second"), Path.Join(_sandbox.OutsidePath, "secret.txt"));
        File.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "first"), "second");
        var workspace = new Workspace(_sandbox.WorkspacePath);

        var exception = Assert.Throws<ToolException>(() => workspace.ResolvePath("first"));

        Assert.Equal("outside_workspace", exception.Code);
    }

    [Fact]
    public void ResolvePath_LinkLoop_IsRejected()
    {
        File.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "loop-a"), "loop-b");
        File.CreateSymbolicLink(Path.Join(_sandbox.WorkspacePath, "loop-b"), "loop-a");
        var workspace = new Workspace(_sandbox.WorkspacePath);

        var exception = Assert.Throws<ToolException>(() => workspace.ResolvePath("loop-a"));

        Assert.Equal("invalid_path", exception.Code);
    }

    [Fact]
    public void ResolvePath_LinkedRoot_AcceptsInsidePaths()
    {
        var linkedRoot = Path.Join(_sandbox.TempRoot, "ws-link");
        Directory.CreateSymbolicLink(linkedRoot, _sandbox.WorkspacePath);
        var workspace = new Workspace(linkedRoot);

        var resolved = workspace.ResolvePath("file.txt");

        Assert.Equal(_sandbox.WorkspacePath, workspace.Root);
        Assert.Equal(Path.Join(_sandbox.WorkspacePath, "file.txt"), resolved);
    }

    [Fact]
    public void Contains_SiblingWithSamePrefix_IsFalse()
    {
        var workspace = new Workspace(_sandbox.WorkspacePath);

        Assert.False(workspace.Contains(_sandbox.EvilPath));
        Assert.False(workspace.Contains(Path.Join(_sandbox.EvilPath, "secret.txt")));
        Assert.True(workspace.Contains(Path.Join(_sandbox.WorkspacePath, "file.txt")));
    }

    [Fact]
    public void WorkspaceProvider_ValidName_CreatesFolderUnderRoot()
    {
        var provider = new WorkspaceProvider(Path.Join(_sandbox.TempRoot, "root"));

        var path = provider.GetPath("task-1.a_b");

        Assert.Equal(Path.Join(_sandbox.TempRoot, "root", "task-1.a_b"), path);
        Assert.True(Directory.Exists(path));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("../x")]
    [InlineData("name with space")]
    [InlineData("ä")]
    public void WorkspaceProvider_InvalidName_Throws(string name)
    {
        var provider = new WorkspaceProvider(Path.Join(_sandbox.TempRoot, "root"));

        Assert.Throws<ArgumentException>(() => provider.GetPath(name));
    }

    [Fact]
    public void WorkspaceProvider_NameOf65Characters_Throws()
    {
        var provider = new WorkspaceProvider(Path.Join(_sandbox.TempRoot, "root"));

        Assert.Throws<ArgumentException>(() => provider.GetPath(new string('a', 65)));
        Assert.True(Directory.Exists(provider.GetPath(new string('a', 64))));
    }

    [Fact]
    public void WorkspaceProvider_LinkInPlaceOfFolder_Throws()
    {
        var root = Directory.CreateDirectory(Path.Join(_sandbox.TempRoot, "root")).FullName;
        Directory.CreateSymbolicLink(Path.Join(root, "taken"), _sandbox.OutsidePath);
        var provider = new WorkspaceProvider(root);

        Assert.Throws<InvalidOperationException>(() => provider.GetPath("taken"));
    }

    [Fact]
    public void ResolveRootPath_NoSetting_UsesDataDirectory()
    {
        var root = WorkspaceProvider.ResolveRootPath(null, _sandbox.TempRoot, "/content");

        Assert.Equal(Path.Join(_sandbox.TempRoot, "workspaces"), root);
    }

    [Fact]
    public void ResolveRootPath_RelativeSetting_UsesContentRoot()
    {
        var root = WorkspaceProvider.ResolveRootPath("ws-root", "./data", "/content");

        Assert.Equal("/content/ws-root", root);
    }
}

using System.Text.Json;
using AgentApi.Agents.Tools;
using Microsoft.Extensions.Options;

namespace AgentApi.Tests.Agents.Tools;

/// <summary>
/// A temporary folder laid out for sandbox tests and deleted on dispose:
/// <c>ws/</c> is the workspace, <c>ws-evil/</c> is a sibling whose name starts with the
/// workspace's, and <c>outside/</c> contains a file that no tool may reach.
/// </summary>
public sealed class ToolSandbox : IDisposable
{
    public const string SecretText = "outside secret";

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public ToolSandbox()
    {
        TempRoot = Directory.CreateTempSubdirectory("agentapi-tools-").FullName;
        WorkspacePath = Directory.CreateDirectory(Path.Join(TempRoot, "ws")).FullName;
        EvilPath = Directory.CreateDirectory(Path.Join(TempRoot, "ws-evil")).FullName;
        OutsidePath = Directory.CreateDirectory(Path.Join(TempRoot, "outside")).FullName;
        File.WriteAllText(Path.Join(OutsidePath, "secret.txt"), SecretText);
        File.WriteAllText(Path.Join(EvilPath, "secret.txt"), SecretText);
        Context = new ToolContext(Guid.NewGuid(), "tester", "agent:tester:main", WorkspacePath);
    }

    public string TempRoot { get; }

    public string WorkspacePath { get; }

    /// <summary>The <c>ws-evil</c> sibling, which a plain prefix check would take for part of <c>ws</c>.</summary>
    public string EvilPath { get; }

    public string OutsidePath { get; }

    public ToolContext Context { get; }

    public static IOptions<ToolOptions> Options(Action<ToolOptions>? configure = null)
    {
        var options = new ToolOptions();
        configure?.Invoke(options);
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    public static JsonElement Arguments(object arguments) => JsonSerializer.SerializeToElement(arguments);

    /// <summary>Writes a file below the workspace, creating its folders, and returns its full path.</summary>
    public string WriteFile(string relativePath, string content)
    {
        var path = Path.Join(WorkspacePath, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>
    /// Creates the links used by the escape cases: <c>link-file</c> to the outside secret,
    /// <c>link-dir</c> to the outside folder, <c>evil-link</c> to <c>ws-evil</c>, and
    /// <c>dangling-link</c> to a file outside that does not exist.
    /// </summary>
    public void CreateEscapeLinks()
    {
        File.CreateSymbolicLink(Path.Join(WorkspacePath, "link-file"), Path.Join(OutsidePath, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Join(WorkspacePath, "link-dir"), OutsidePath);
        Directory.CreateSymbolicLink(Path.Join(WorkspacePath, "evil-link"), EvilPath);
        File.CreateSymbolicLink(Path.Join(WorkspacePath, "dangling-link"), Path.Join(OutsidePath, "created-through-link.txt"));
    }

    public static Task<string> InvokeAsync(IAgentTool tool, ToolContext context, object arguments, CancellationToken cancellationToken = default) =>
        tool.InvokeAsync(context, Arguments(arguments), cancellationToken).WaitAsync(Timeout, cancellationToken);

    public Task<string> InvokeAsync(IAgentTool tool, object arguments) => InvokeAsync(tool, Context, arguments);

    /// <summary>Invokes the tool and returns the <see cref="ToolException"/> it must throw.</summary>
    public async Task<ToolException> InvokeFailingAsync(IAgentTool tool, object arguments) =>
        await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, arguments));

    public void Dispose()
    {
        // Recursive deletion removes links without following them.
        Directory.Delete(TempRoot, recursive: true);
    }
}

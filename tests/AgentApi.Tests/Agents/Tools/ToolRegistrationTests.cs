using AgentApi.Agents.Tools;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentApi.Tests.Agents.Tools;

public sealed class ToolRegistrationTests
{
    [Fact]
    public void ToolRegistry_AppServices_ContainsEveryNamedTool()
    {
        using var factory = AgentApiFactory.StartEmbedded(new Dictionary<string, string?> { ["Tools:Bash:Enabled"] = "true" });

        var registry = factory.Services.GetRequiredService<ToolRegistry>();

        string[] expected =
        [
            ToolNames.AskAgent, ToolNames.Bash, ToolNames.EditFile, ToolNames.Glob, ToolNames.Grep,
            ToolNames.ListFiles, ToolNames.ReadFile, ToolNames.SpawnSubagent, ToolNames.WebFetch, ToolNames.WriteFile,
        ];
        Assert.Equal(expected, registry.All.Select(tool => tool.Name));
        foreach (var name in expected)
        {
            var tool = registry.Find(name);
            Assert.NotNull(tool);
            Assert.Equal(System.Text.Json.JsonValueKind.Object, tool.ParametersSchema.ValueKind);
            Assert.Equal("object", tool.ParametersSchema.GetProperty("type").GetString());
        }
    }

    [Fact]
    public void ToolRegistry_ByDefault_HasNoBash()
    {
        using var factory = AgentApiFactory.StartEmbedded();

        var registry = factory.Services.GetRequiredService<ToolRegistry>();

        Assert.Null(registry.Find(ToolNames.Bash));
        Assert.NotNull(registry.Find(ToolNames.ReadFile));
    }

    [Fact]
    public void WorkspaceProvider_DefaultRoot_IsUnderDataDirectory()
    {
        using var factory = AgentApiFactory.StartEmbedded();

        var provider = factory.Services.GetRequiredService<WorkspaceProvider>();

        Assert.Equal(Path.Join(factory.DataDirectory, "workspaces"), provider.RootPath);
    }

    [Fact]
    public void ToolOptions_Defaults_AreValid()
    {
        using var services = BuildServices([]);

        var options = services.GetRequiredService<IOptions<ToolOptions>>().Value;

        Assert.Equal(256 * 1024, options.MaxReadBytes);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Bash.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(300), options.Bash.MaxTimeout);
        Assert.Equal(64 * 1024, options.Bash.MaxOutputBytes);
        Assert.Empty(options.WebFetch.AllowedHosts);
        Assert.Equal(512 * 1024, options.WebFetch.MaxResponseBytes);
        Assert.Equal(TimeSpan.FromSeconds(20), options.WebFetch.Timeout);
    }

    [Fact]
    public void ToolOptions_BoundSettings_AreApplied()
    {
        using var services = BuildServices(new()
        {
            ["Tools:WebFetch:AllowedHosts:0"] = "127.0.0.1:5123",
            ["Tools:Bash:Timeout"] = "00:00:05",
        });

        var options = services.GetRequiredService<IOptions<ToolOptions>>().Value;

        Assert.Equal(["127.0.0.1:5123"], options.WebFetch.AllowedHosts);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Bash.Timeout);
    }

    [Theory]
    [InlineData("Tools:Bash:Timeout", "00:10:00", "Tools:Bash:Timeout is 00:10:00, but it must be from 00:00:01 to 00:05:00 (Tools:Bash:MaxTimeout).")]
    [InlineData("Tools:Bash:MaxTimeout", "02:00:00", "Tools:Bash:MaxTimeout is 02:00:00, but it must be from 00:00:01 to 01:00:00.")]
    [InlineData("Tools:MaxReadBytes", "0", "Tools:MaxReadBytes is 0, but it must be from 16384 to 67108864 bytes.")]
    [InlineData("Tools:WebFetch:Timeout", "00:00:00", "Tools:WebFetch:Timeout is 00:00:00, but it must be from 00:00:01 to 00:05:00.")]
    [InlineData("Tools:WebFetch:AllowedHosts:0", "https://example.com", "Tools:WebFetch:AllowedHosts:0 is 'https://example.com'")]
    public void ToolOptions_InvalidSetting_FailsWithRange(string key, string value, string expectedMessage)
    {
        using var services = BuildServices(new() { [key] = value });

        var exception = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ToolOptions>>().Value);

        Assert.Contains(expectedMessage, exception.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider BuildServices(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddLogging()
            .AddAgentTools(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
}

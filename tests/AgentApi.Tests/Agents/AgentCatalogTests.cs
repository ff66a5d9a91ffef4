using AgentApi.Agents;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentApi.Tests.Agents;

/// <summary>
/// <see cref="AgentCatalog"/> over a temporary folder, reloaded by hand through <c>Reload()</c>.
/// The watcher path is covered by <see cref="AgentApiTests"/> and <see cref="AgentDirectoryWatcherTests"/>.
/// </summary>
public sealed class AgentCatalogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("agentapi-catalog-").FullName;
    private readonly LogCapture _logs = new();

    private string Folder => Path.Combine(_root, "agents");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Catalog_WithoutSettings_HasBuiltInAgents()
    {
        var catalog = new AgentCatalog();

        Assert.Equal(["explore", "general-purpose", "plan"], catalog.Names);
        Assert.Equal(catalog.Names, catalog.All.Select(agent => agent.Name));
        Assert.All(catalog.All, agent => Assert.Equal("built-in", agent.Source));
        Assert.NotNull(catalog.Find(AgentCatalog.DefaultAgent));
        Assert.Null(catalog.Find("Explore"));
    }

    [Fact]
    public void Catalog_RelativeDirectory_IsUnderContentRoot()
    {
        Directory.CreateDirectory(Folder);
        Write("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Relative folder."));

        using var catalog = CreateCatalog(new AgentCatalogOptions { Directory = "agents" });

        Assert.Equal(Path.Combine(Folder, "helper.md"), catalog.Find("helper")!.Source);
    }

    [Fact]
    public void Catalog_MissingFolder_HasBuiltInsAndLogsOnce()
    {
        using var catalog = CreateCatalog();

        catalog.Reload();

        Assert.Equal(["explore", "general-purpose", "plan"], catalog.Names);
        Assert.Empty(catalog.Current.Broken);
        Assert.Single(_logs.Entries, entry => entry.EventId.Id == 6003);
    }

    [Fact]
    public void Reload_FileAdded_SwapsInNewSnapshot()
    {
        Directory.CreateDirectory(Folder);
        using var catalog = CreateCatalog();
        var before = catalog.Current;

        Write("helper.md", AgentDirectoryLoaderTests.AgentFile("helper", "Added later."));
        catalog.Reload();

        Assert.Equal(before.Version + 1, catalog.Current.Version);
        Assert.Equal("Added later.", catalog.Find("helper")!.Description);
        Assert.Contains("helper", catalog.Names);
        Assert.Null(before.Find("helper"));
        Assert.DoesNotContain("helper", before.Names);
    }

    [Fact]
    public void Reload_FileNamedLikeBuiltIn_ReplacesIt()
    {
        Directory.CreateDirectory(Folder);
        Write("my-explore.md", "---\nname: explore\ndescription: Explores with a shell.\ntools: bash\n---\nUse the shell.\n");

        using var catalog = CreateCatalog();

        var explore = catalog.Find("explore")!;
        Assert.Equal("Explores with a shell.", explore.Description);
        Assert.Equal(["bash"], explore.Tools);
        Assert.Equal(Path.Combine(Folder, "my-explore.md"), explore.Source);
        Assert.Single(catalog.All, agent => agent.Name == "explore");
    }

    [Fact]
    public void Reload_FileRemoved_RestoresBuiltIn()
    {
        Directory.CreateDirectory(Folder);
        Write("plan.md", AgentDirectoryLoaderTests.AgentFile("plan", "Custom plan."));
        using var catalog = CreateCatalog();
        Assert.Equal("Custom plan.", catalog.Find("plan")!.Description);

        File.Delete(Path.Combine(Folder, "plan.md"));
        catalog.Reload();

        Assert.Equal("built-in", catalog.Find("plan")!.Source);
    }

    [Fact]
    public void Reload_SameBrokenFile_LogsItOnceWithoutContent()
    {
        Directory.CreateDirectory(Folder);
        Write("broken.md", "---\nname: broken\ndescription: secret-description-text\nmodel: nowhere\n---\nsecret-prompt-text\n");
        using var catalog = CreateCatalog();

        catalog.Reload();
        catalog.Reload();

        var warning = Assert.Single(_logs.Entries, entry => entry.EventId.Id == 6001);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(Path.Combine(Folder, "broken.md"), warning.Message, StringComparison.Ordinal);
        Assert.Contains("'model' names unknown model 'nowhere'", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-", _logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public void Reload_ModelAddedToConfiguration_AcceptsIt()
    {
        Directory.CreateDirectory(Folder);
        Write("fast.md", "---\nname: quick\ndescription: Uses the fast model.\nmodel: fast\n---\nBe quick.\n");
        var configuration = new ConfigurationManager();
        using var catalog = CreateCatalog(configuration: configuration);
        Assert.Null(catalog.Find("quick"));

        configuration["Models:Fast:Provider"] = "simulated";
        catalog.Reload();

        Assert.Equal("Fast", catalog.Find("quick")!.Model);
        Assert.Empty(catalog.Current.Broken);
    }

    public static TheoryData<string, string, string> InvalidSettings => new()
    {
        { nameof(AgentCatalogOptions.Directory), " ", "Agents:Directory is empty" },
        { nameof(AgentCatalogOptions.ReloadDelay), "-00:00:01", "Agents:ReloadDelay is -00:00:01; use a value from 00:00:00 to 00:01:00." },
        { nameof(AgentCatalogOptions.ReloadDelay), "00:05:00", "Agents:ReloadDelay is 00:05:00; use a value from 00:00:00 to 00:01:00." },
        { nameof(AgentCatalogOptions.PollInterval), "00:00:00.050", "Agents:PollInterval is 00:00:00.0500000; use a value from 00:00:00.1000000 to 01:00:00." },
        { nameof(AgentCatalogOptions.PollInterval), "02:00:00", "Agents:PollInterval is 02:00:00; use a value from 00:00:00.1000000 to 01:00:00." },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Catalog_SettingOutOfRange_ThrowsWithRange(string setting, string value, string expected)
    {
        var options = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [setting] = value })
            .Build()
            .Get<AgentCatalogOptions>()!;

        var exception = Assert.Throws<InvalidOperationException>(() => CreateCatalog(options));

        Assert.StartsWith(expected, exception.Message, StringComparison.Ordinal);
    }

    private AgentCatalog CreateCatalog(AgentCatalogOptions? options = null, IConfiguration? configuration = null) =>
        new(
            Options.Create(options ?? new AgentCatalogOptions { Directory = Folder }),
            new HostingEnvironment { ContentRootPath = _root },
            configuration ?? new ConfigurationManager(),
            TimeProvider.System,
            new LoggerFactory([_logs]).CreateLogger<AgentCatalog>());

    private void Write(string fileName, string text) => File.WriteAllText(Path.Combine(Folder, fileName), text);
}

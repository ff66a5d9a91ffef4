using AgentApi.Agents.Tools;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Agents.Tools;

/// <summary>
/// <c>web_fetch</c> against in-process servers on 127.0.0.1, through the HTTP client that
/// <see cref="ToolExtensions.AddAgentTools"/> registers.
/// </summary>
public sealed class WebFetchToolTests : IAsyncLifetime
{
    private readonly ToolSandbox _sandbox = new();
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddLogging()
        .AddAgentTools(new ConfigurationBuilder().Build())
        .BuildServiceProvider();

    private LoopbackServer _server = null!;
    private LoopbackServer _otherServer = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackServer.StartAsync();
        _otherServer = await LoopbackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _otherServer.DisposeAsync();
        await _services.DisposeAsync();
        _sandbox.Dispose();
    }

    [Fact]
    public async Task WebFetch_AllowedHost_ReturnsStatusAndBody()
    {
        var tool = CreateTool("127.0.0.1");

        var result = await _sandbox.InvokeAsync(tool, new { url = $"{_server.BaseUrl}/text" });

        Assert.StartsWith($"URL: {_server.BaseUrl}/text\nStatus: 200 OK\nContent-Type: text/plain; charset=utf-8\n\n", result, StringComparison.Ordinal);
        Assert.EndsWith(LoopbackServer.Text, result, StringComparison.Ordinal);
        Assert.Equal(1, _server.RequestCount);
    }

    [Fact]
    public async Task WebFetch_PortSpecificEntry_AllowsThatPort()
    {
        var tool = CreateTool($"127.0.0.1:{_server.Port}");

        var result = await _sandbox.InvokeAsync(tool, new { url = $"{_server.BaseUrl}/json" });

        Assert.EndsWith("{\"ok\":true}", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebFetch_HostNotAllowed_NeverConnects()
    {
        var tool = CreateTool("localhost");

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/text" });

        Assert.Equal("host_not_allowed", exception.Code);
        Assert.Contains("127.0.0.1", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, _server.ConnectionCount);
    }

    [Fact]
    public async Task WebFetch_OtherPort_NeverConnects()
    {
        var tool = CreateTool($"127.0.0.1:{_otherServer.Port}");

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/text" });

        Assert.Equal("host_not_allowed", exception.Code);
        Assert.Equal(0, _server.ConnectionCount);
    }

    [Fact]
    public async Task WebFetch_EmptyAllowlist_NeverConnects()
    {
        var tool = CreateTool();

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/text" });

        Assert.Equal("forbidden", exception.Code);
        Assert.Contains("Tools:WebFetch:AllowedHosts", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, _server.ConnectionCount);
    }

    [Fact]
    public async Task WebFetch_RedirectToAllowedHost_IsFollowed()
    {
        var tool = CreateTool($"127.0.0.1:{_server.Port}");

        var result = await _sandbox.InvokeAsync(tool, new { url = $"{_server.BaseUrl}/redirect-local" });

        Assert.StartsWith($"URL: {_server.BaseUrl}/text\n", result, StringComparison.Ordinal);
        Assert.EndsWith(LoopbackServer.Text, result, StringComparison.Ordinal);
        Assert.Equal(2, _server.RequestCount);
    }

    [Fact]
    public async Task WebFetch_RedirectToOtherHost_IsRejected()
    {
        var tool = CreateTool($"127.0.0.1:{_server.Port}");
        var target = Uri.EscapeDataString($"{_otherServer.BaseUrl}/text");

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/redirect-to?target={target}" });

        Assert.Equal("host_not_allowed", exception.Code);
        Assert.Contains("redirected", exception.Message, StringComparison.Ordinal);
        Assert.Equal(1, _server.RequestCount);
        Assert.Equal(0, _otherServer.ConnectionCount);
    }

    [Fact]
    public async Task WebFetch_RedirectLoop_StopsAfterMaxRedirects()
    {
        var tool = CreateTool("127.0.0.1", options => options.MaxRedirects = 3);

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/loop" });

        Assert.Equal("too_many_redirects", exception.Code);
        Assert.Equal(4, _server.RequestCount);
    }

    [Theory]
    [InlineData("http://user:pass@127.0.0.1:{0}/text")]
    [InlineData("http://user@127.0.0.1:{0}/text")]
    [InlineData("ftp://127.0.0.1:{0}/text")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/text")]
    public async Task WebFetch_InvalidUrl_NeverConnects(string urlFormat)
    {
        var tool = CreateTool("127.0.0.1");
        var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, urlFormat, _server.Port);

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url });

        Assert.Equal("invalid_argument", exception.Code);
        Assert.Equal(0, _server.ConnectionCount);
    }

    [Fact]
    public async Task WebFetch_LargeBody_IsTruncated()
    {
        var tool = CreateTool("127.0.0.1", options => options.MaxResponseBytes = 1024);

        var result = await _sandbox.InvokeAsync(tool, new { url = $"{_server.BaseUrl}/large" });

        Assert.EndsWith("\n\n" + new string('b', 1024) + "\n[Body truncated after 1024 bytes.]", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebFetch_BinaryContent_IsRejected()
    {
        var tool = CreateTool("127.0.0.1");

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/binary" });

        Assert.Equal("binary_content", exception.Code);
    }

    [Fact]
    public async Task WebFetch_SlowServer_TimesOut()
    {
        var tool = CreateTool("127.0.0.1", options => options.Timeout = TimeSpan.FromSeconds(1));

        var exception = await _sandbox.InvokeFailingAsync(tool, new { url = $"{_server.BaseUrl}/slow" });

        Assert.Equal("timeout", exception.Code);
    }

    private WebFetchTool CreateTool(params string[] allowedHosts) => CreateTool(allowedHosts, configure: null);

    private WebFetchTool CreateTool(string allowedHost, Action<WebFetchToolOptions> configure) => CreateTool([allowedHost], configure);

    private WebFetchTool CreateTool(string[] allowedHosts, Action<WebFetchToolOptions>? configure) => new(
        _services.GetRequiredService<IHttpClientFactory>(),
        ToolSandbox.Options(options =>
        {
            options.WebFetch.AllowedHosts.AddRange(allowedHosts);
            configure?.Invoke(options.WebFetch);
        }),
        TimeProvider.System,
        NullLogger<WebFetchTool>.Instance);
}

using System.Net;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Security;

public sealed class SecurityHeadersTests
{
    [Fact]
    public async Task DashboardPage_HasPolicyWithoutInlineScript()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();

        var login = await client.GetAsync("/login").WaitAsync(TestTimeouts.Request);
        var api = await client.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request);

        var policy = string.Join(";", login.Headers.GetValues("Content-Security-Policy"));
        var scripts = policy.Split(';').Select(part => part.Trim()).Single(part => part.StartsWith("script-src", StringComparison.Ordinal));
        Assert.Equal("script-src 'self'", scripts);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", login.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", api.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task Cors_NoOriginsConfigured_SendsNoAllowOrigin()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var client = factory.CreateAuthenticatedClient();

        using var preflight = Preflight("https://other.example");
        var response = await client.SendAsync(preflight).WaitAsync(TestTimeouts.Request);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Cors_ConfiguredOrigin_IsAllowedAndOthersAreNot()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins:0"] = "https://app.example",
        });
        using var client = factory.CreateAuthenticatedClient();

        using var allowedPreflight = Preflight("https://app.example");
        using var otherPreflight = Preflight("https://other.example");
        var allowed = await client.SendAsync(allowedPreflight).WaitAsync(TestTimeouts.Request);
        var other = await client.SendAsync(otherPreflight).WaitAsync(TestTimeouts.Request);

        Assert.Equal("https://app.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/tasks");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-api-key, content-type");
        return request;
    }
}

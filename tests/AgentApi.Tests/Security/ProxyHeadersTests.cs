using System.Net;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Security;

public sealed class ProxyHeadersTests
{
    [Theory]
    [InlineData("true", "https")]
    [InlineData("false", "http")]
    public async Task ForwardedProto_FromLoopbackProxy_IsBelievedOnlyWhenEnabled(string enabled, string expectedScheme)
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?>
        {
            ["Proxy:ForwardedHeaders"] = enabled,
        });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = factory.ServerAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Forwarded-Proto", "https");

        var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.True(location.IsAbsoluteUri, $"The login redirect '{location}' is not absolute.");
        Assert.Equal(expectedScheme, location.Scheme);
    }
}

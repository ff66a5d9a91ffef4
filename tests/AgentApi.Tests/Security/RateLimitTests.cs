using System.Net;
using AgentApi.Security;
using AgentApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Security;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Requests_OverTheKeysLimit_Get429WithRetryAfterAndOtherKeysDoNot()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["RateLimits:PermitsPerWindow"] = "5",
            ["RateLimits:Window"] = "00:01:00",
        });
        var otherKey = await factory.Services.GetRequiredService<ApiKeyStore>()
            .CreateAsync("other", [ApiKeyScopes.Read], CancellationToken.None).WaitAsync(TestTimeouts.Request);
        using var busy = factory.CreateAuthenticatedClient();
        using var other = factory.CreateAuthenticatedClient(otherKey);

        List<HttpStatusCode> statuses = [];
        for (var request = 0; request < 6; request++)
        {
            statuses.Add((await busy.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request)).StatusCode);
        }

        var limited = await busy.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request);
        var otherStatus = (await other.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request)).StatusCode;
        var health = (await busy.GetAsync("/health/live").WaitAsync(TestTimeouts.Request)).StatusCode;

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 5).Append(HttpStatusCode.TooManyRequests), statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        var problem = await limited.Content.ReadAsStringAsync();
        Assert.Contains("RateLimits:PermitsPerWindow", problem, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"https://tools.ietf.org/html/rfc6585#section-4\"", problem, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, otherStatus);
        Assert.Equal(HttpStatusCode.OK, health);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using AgentApi.Security;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.Tests.Security;

public sealed partial class AuthenticationTests(PostgresAppFixture fixture) : IClassFixture<PostgresAppFixture>
{
    private AgentApiFactory Factory => fixture.Factory;

    [Theory]
    [InlineData("GET", "/api/tasks")]
    [InlineData("POST", "/api/tasks")]
    [InlineData("GET", "/swagger/v1/swagger.json")]
    [InlineData("GET", "/swagger/antiforgery-token")]
    public async Task ApiEndpoint_NoKey_Returns401Problem(string method, string path)
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? JsonContent.Create(new { input = "x" }) : null,
        });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task SwaggerTokenPath_Post_Is405AllowingGet()
    {
        using var client = Factory.CreateAuthenticatedClient();

        using var response = await client.PostAsync("/swagger/antiforgery-token", null).WaitAsync(TestTimeouts.Request);
        using var token = await client.GetAsync("/swagger/antiforgery-token").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET"], response.Content.Headers.Allow);
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        Assert.True(token.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task ApiEndpoint_WrongKey_Returns401()
    {
        using var client = Factory.CreateAuthenticatedClient("not-a-real-key");

        var response = await client.GetAsync("/api/tasks");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ApiEndpoint_BearerKey_IsAccepted()
    {
        using var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AgentApiFactory.AdminKey);

        var response = await client.GetAsync("/api/tasks");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task QueryStringKey_OutsideHub_IsIgnored()
    {
        using var client = Factory.CreateClient();

        var response = await client.GetAsync($"/api/tasks?access_token={AgentApiFactory.AdminKey}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task HealthProbe_NoKey_Returns200(string path)
    {
        using var client = Factory.CreateClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Healthy", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/hangfire")]
    [InlineData("/swagger/index.html")]
    public async Task BrowserPage_NoKey_RedirectsToLogin(string path)
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location?.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_ValidKey_OpensDashboardSwaggerAndHangfire()
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var login = await LoginAsync(client, AgentApiFactory.AdminKey);

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), value => value.StartsWith(SecurityExtensions.CookieName, StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        var dashboard = await client.GetAsync("/");
        var swagger = await client.GetAsync("/swagger/index.html");
        var hangfire = await client.GetAsync("/hangfire");
        var api = await client.GetAsync("/api/tasks");

        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Equal(HttpStatusCode.OK, swagger.StatusCode);
        Assert.Equal(HttpStatusCode.OK, hangfire.StatusCode);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        var hangfireHtml = await hangfire.Content.ReadAsStringAsync();
        Assert.Contains("AgentApi jobs", hangfireHtml, StringComparison.Ordinal);
        // Hangfire shows the storage's host and database in its footer unless configured not to.
        var databaseName = new Npgsql.NpgsqlConnectionStringBuilder(Factory.PostgresConnectionString).Database!;
        Assert.DoesNotContain(databaseName, hangfireHtml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_KeyRevokedLater_EndsTheDashboardSession()
    {
        var key = await Factory.Services.GetRequiredService<ApiKeyStore>()
            .CreateAsync("cookie-revoke", [ApiKeyScopes.Read], CancellationToken.None).WaitAsync(TestTimeouts.Request);
        using var browser = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        await LoginAsync(browser, key);
        var before = await browser.GetAsync("/api/tasks");

        await Factory.Services.GetRequiredService<ApiKeyStore>().RevokeAsync("cookie-revoke", CancellationToken.None).WaitAsync(TestTimeouts.Request);
        var after = await browser.GetAsync("/api/tasks");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task CookieApiCall_WithoutAntiforgeryToken_Is400AndChangesNothing()
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        await LoginAsync(client, AgentApiFactory.AdminKey);
        var dashboard = await client.GetStringAsync("/");
        var token = RequestTokenPattern().Match(dashboard).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), "the dashboard should carry a request token for its scripts");
        var before = await client.GetStringAsync("/api/lanes/main");

        var forged = await client.PutAsync("/api/lanes/main", JsonContent.Create(new { maxConcurrent = 7 }));
        var unchanged = await client.GetStringAsync("/api/lanes/main");
        using var withToken = new HttpRequestMessage(HttpMethod.Put, "/api/lanes/main") { Content = JsonContent.Create(new { maxConcurrent = 2 }) };
        withToken.Headers.Add("RequestVerificationToken", token);
        var allowed = await client.SendAsync(withToken);
        var restore = new HttpRequestMessage(HttpMethod.Put, "/api/lanes/main") { Content = JsonContent.Create(new { maxConcurrent = 1 }) };
        restore.Headers.Add("RequestVerificationToken", token);
        await client.SendAsync(restore);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("antiforgery", await forged.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, unchanged);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Logout_FromDashboardForm_EndsTheSession()
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        await LoginAsync(client, AgentApiFactory.AdminKey);
        var dashboard = await client.GetStringAsync("/");
        var token = AntiforgeryTokenPattern().Match(dashboard).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), "the sign-out form should carry an antiforgery token");

        var logout = await client.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
        }));

        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/tasks")).StatusCode);
    }

    [Fact]
    public async Task Login_WrongKey_Returns401AndSetsNoCookie()
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var login = await LoginAsync(client, "wrong-key");

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.False(login.Headers.TryGetValues("Set-Cookie", out var cookies)
            && cookies.Any(value => value.StartsWith(SecurityExtensions.CookieName, StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Login_WithoutAntiforgeryToken_IsRejected()
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var response = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = AgentApiFactory.AdminKey }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task HangfireDashboard_ApiKeyFromRemoteClient_IsAllowed()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var response = await client.GetAsync("/hangfire/jobs/enqueued");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SwaggerDocument_ListsTaskEndpointsAndKeyScheme()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var document = await client.GetStringAsync("/swagger/v1/swagger.json");

        Assert.Contains("\"/api/tasks\"", document, StringComparison.Ordinal);
        Assert.Contains("\"/api/tasks/{id}/cancel\"", document, StringComparison.Ordinal);
        Assert.Contains("\"/api/tasks/{id}/events\"", document, StringComparison.Ordinal);
        Assert.Contains("X-Api-Key", document, StringComparison.Ordinal);
        Assert.DoesNotContain("/hangfire", document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoConfiguredKey_GeneratesKeyPrintsItOnceAndStoresOnlyHash()
    {
        var output = new StringWriter();
        var dataDirectory = Directory.CreateTempSubdirectory("agentapi-bootstrap-").FullName;
        Dictionary<string, string?> noKeys = new() { ["Auth:ApiKeys:0"] = null };

        string key;
        await using (var factory = AgentApiFactory.StartEmbedded(noKeys, dataDirectory, services => services.AddSingleton(new BootstrapKeyConsole(output))))
        {
            var match = PrintedKeyPattern().Match(output.ToString());
            Assert.True(match.Success, $"the key should be printed: {output}");
            key = match.Groups[1].Value;
            Assert.Contains("/login", output.ToString(), StringComparison.Ordinal);

            using var client = factory.CreateAuthenticatedClient(key);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/tasks")).StatusCode);
            Assert.DoesNotContain(key, factory.Logs.AllText, StringComparison.Ordinal);

            await using var db = factory.CreateDbContext();
            var stored = await db.ApiKeys.SingleAsync();
            Assert.Equal("bootstrap", stored.Name);
            Assert.NotEqual(key, stored.Hash);
            Assert.DoesNotContain(key, stored.Hash, StringComparison.Ordinal);
        }

        // A second start finds the stored key: it prints nothing new and the old key still works.
        var secondOutput = new StringWriter();
        await using (var factory = AgentApiFactory.StartEmbedded(noKeys, dataDirectory, services => services.AddSingleton(new BootstrapKeyConsole(secondOutput))))
        {
            Assert.DoesNotContain("API key:", secondOutput.ToString(), StringComparison.Ordinal);
            using var client = factory.CreateAuthenticatedClient(key);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/tasks")).StatusCode);
        }
    }

    private static async Task<HttpResponseMessage> LoginAsync(HttpClient client, string key)
    {
        var form = await client.GetStringAsync("/login");
        var token = AntiforgeryTokenPattern().Match(form).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), "the login form should carry an antiforgery token");

        return await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["key"] = key,
            ["__RequestVerificationToken"] = token,
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryTokenPattern();

    [GeneratedRegex("name=\"request-verification-token\" content=\"([^\"]+)\"")]
    private static partial Regex RequestTokenPattern();

    [GeneratedRegex(@"API key:\s+(\S+)")]
    private static partial Regex PrintedKeyPattern();
}

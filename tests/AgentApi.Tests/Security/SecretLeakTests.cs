using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentApi.Tests.Infrastructure;
using AgentApi.Tests.Webhooks;
using AgentApi.Webhooks;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace AgentApi.Tests.Security;

/// <summary>
/// Runs the service with every kind of secret configured and searches all it logged and
/// every page and problem it returned for them.
/// </summary>
[Trait("Category", "Reliability")]
public sealed partial class SecretLeakTests
{
    private const string ModelApiKey = "sk-model-secret-3c9a71e2d4f6";
    private const string WebhookSecret = "webhook-secret-8f2d6b1a90c3";
    private const string DatabasePassword = "pg-password-5e7c2a914b8d";
    private const string AdminKey = "admin-key-secret-0d4b8e6f21a7";

    // A password a client put in a webhook URL: the problem may quote the client's own input,
    // but the log must not.
    private const string ClientPassword = "client-password-71c3e5a0b9";

    [Fact]
    public async Task FullRun_LeaksNoSecret()
    {
        await using var model = await FakeModelServer.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var connectionString = await CreateDatabaseWithPasswordAsync();
        await using var factory = await AgentApiFactory.StartPostgresOnAsync(connectionString, new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:0"] = AdminKey,
            ["Models:Default:Provider"] = "openai",
            ["Models:Default:Endpoint"] = model.BaseUrl,
            ["Models:Default:Model"] = "gpt-test",
            ["Models:Default:ApiKey"] = ModelApiKey,
            ["Webhooks:Secret"] = WebhookSecret,
            ["Webhooks:AllowedHosts:0"] = "127.0.0.1",

            // Debug, so that what a library logs only at that level is searched too.
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Information",
        });
        using var admin = factory.CreateAuthenticatedClient(AdminKey);
        var responses = new List<(string Request, string Body)>();

        var plain = await factory.SubmitAsync(admin, new { input = "plain task" });
        var hooked = await factory.SubmitAsync(admin, new { input = "task with a webhook", webhookUrl = receiver.Url });
        Assert.Equal("succeeded", (await AgentApiFactory.WaitForFinishAsync(admin, plain)).Status);
        Assert.Equal("succeeded", (await AgentApiFactory.WaitForFinishAsync(admin, hooked)).Status);
        var delivery = Assert.Single(await receiver.WaitForAsync(1, TestTimeouts.Task));

        var schedule = await admin.PostAsJsonAsync("/api/schedules", new
        {
            id = "leak-check",
            cron = "0 0 1 1 *",
            timeZone = "UTC",
            task = new { input = "scheduled task" },
        }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Created, schedule.StatusCode);
        var trigger = await admin.PostAsync("/api/schedules/leak-check/trigger", null).WaitAsync(TestTimeouts.Request);
        var triggered = await trigger.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(TestTimeouts.Request);
        await AgentApiFactory.WaitForFinishAsync(admin, triggered.GetProperty("taskId").GetGuid());

        // The created key is a secret as well: it is shown in this one response and nowhere else.
        var keyResponse = await admin.PostAsJsonAsync("/api/keys", new { name = "leak-reader", scopes = new[] { "read" } }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Created, keyResponse.StatusCode);
        var createdKey = (await keyResponse.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(TestTimeouts.Request)).GetProperty("key").GetString()!;
        using (var reader = factory.CreateAuthenticatedClient(createdKey))
        {
            Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/tasks").WaitAsync(TestTimeouts.Request)).StatusCode);
            responses.Add(await SendAsync(reader, HttpMethod.Post, "/api/tasks", """{"input":"not allowed"}"""));
        }

        // Failed sign-ins with keys that contain a real key, so that logging the attempt would leak it.
        using var browser = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        responses.Add(await SignInAsync(browser, AdminKey + "-wrong", HttpStatusCode.Unauthorized));
        responses.Add(await SignInAsync(browser, ModelApiKey, HttpStatusCode.Unauthorized));
        responses.Add(await SignInAsync(browser, createdKey + "x", HttpStatusCode.Unauthorized));
        var noToken = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = AdminKey })).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        responses.Add(("POST /login without a token", await noToken.Content.ReadAsStringAsync()));

        // Bad requests: wrong keys that contain real ones, and bodies that fail validation.
        using (var wrongKey = factory.CreateAuthenticatedClient(AdminKey + "x"))
        {
            responses.Add(await SendAsync(wrongKey, HttpMethod.Get, "/api/tasks", body: null));
        }

        using (var modelKeyAsApiKey = factory.CreateClient())
        {
            modelKeyAsApiKey.DefaultRequestHeaders.Authorization = new("Bearer", ModelApiKey);
            responses.Add(await SendAsync(modelKeyAsApiKey, HttpMethod.Get, "/api/keys", body: null));
        }

        responses.Add(await SendAsync(admin, HttpMethod.Post, "/api/tasks", "{\"input\":"));
        await SendAsync(admin, HttpMethod.Post, "/api/tasks", $$"""{"input":"x","webhookUrl":"https://user:{{ClientPassword}}@example.test/"}""");
        responses.Add(await SendAsync(admin, HttpMethod.Post, "/api/tasks", """{"input":"x","agent":"nope"}"""));
        responses.Add(await SendAsync(admin, HttpMethod.Post, "/api/keys", """{"name":"leak-reader","scopes":["read"]}"""));
        responses.Add(await SendAsync(admin, HttpMethod.Put, "/api/lanes/main", """{"maxConcurrent":"x"}"""));
        responses.Add(await SendAsync(admin, HttpMethod.Get, "/api/tasks/00000000-0000-0000-0000-000000000000", body: null));

        // What a signed-in browser and an API client can read.
        responses.Add(await SignInAsync(browser, AdminKey, HttpStatusCode.Redirect));
        foreach (var page in new[]
        {
            "/", "/tasks", $"/tasks/{hooked}", "/system", "/login", "/hangfire", "/hangfire/jobs/succeeded",
            "/hangfire/recurring", "/hangfire/servers", "/swagger/index.html", "/swagger/v1/swagger.json",
        })
        {
            responses.Add(await GetAsync(browser, page));
        }

        foreach (var path in new[]
        {
            "/api/keys", "/api/schedules", "/api/heartbeat", "/api/lanes", "/api/agents", "/api/system/resources",
            $"/api/tasks/{hooked}", $"/api/tasks/{hooked}/events", "/api/sessions",
        })
        {
            responses.Add(await GetAsync(admin, path));
        }

        // Each secret was in use, so its absence below means something.
        Assert.NotEmpty(model.Requests);
        Assert.All(model.Requests, request => Assert.Equal($"Bearer {ModelApiKey}", request.Authorization));
        Assert.True(WebhookSignature.Verify(delivery.Body, WebhookSecret, delivery.Headers["X-AgentApi-Signature"]));
        Assert.Equal(DatabasePassword, new NpgsqlConnectionStringBuilder(factory.PostgresConnectionString).Password);
        Assert.Contains(factory.Logs.Entries, entry => entry.Message.Contains("sign-in failed", StringComparison.OrdinalIgnoreCase));

        var logs = factory.Logs.AllText;
        Assert.False(logs.Contains(ClientPassword, StringComparison.Ordinal), $"The client's password is in the log:\n{Around(logs, ClientPassword)}");
        foreach (var (name, secret) in new[]
        {
            ("model API key", ModelApiKey),
            ("webhook secret", WebhookSecret),
            ("database password", DatabasePassword),
            ("admin key", AdminKey),
            ("created key", createdKey),
        })
        {
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"The {name} is in the log:\n{Around(logs, secret)}");
            foreach (var (request, body) in responses)
            {
                Assert.False(body.Contains(secret, StringComparison.Ordinal), $"The {name} is in the response to {request}:\n{Around(body, secret)}");
            }
        }
    }

    /// <summary>
    /// Creates a database owned by a new role with a password and returns a connection string
    /// that signs in as that role.
    /// </summary>
    /// <remarks>
    /// NOTE: the tests' own cluster trusts every local connection, so the server does not check
    /// the password. The connection string carries it all the same, as a production one does.
    /// </remarks>
    private static async Task<string> CreateDatabaseWithPasswordAsync()
    {
        var adminConnectionString = await PostgresServer.GetAdminConnectionStringAsync();
        var suffix = Guid.NewGuid().ToString("N");
        var role = "leak_" + suffix;
        var database = "test_leak_" + suffix;
        await using (var connection = new NpgsqlConnection(adminConnectionString))
        {
            await connection.OpenAsync();
            await using (var createRole = new NpgsqlCommand($"CREATE ROLE \"{role}\" LOGIN PASSWORD '{DatabasePassword}'", connection))
            {
                await createRole.ExecuteNonQueryAsync();
            }

            await using var createDatabase = new NpgsqlCommand($"CREATE DATABASE \"{database}\" OWNER \"{role}\"", connection);
            await createDatabase.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(adminConnectionString)
        {
            Database = database,
            Username = role,
            Password = DatabasePassword,
        }.ConnectionString;
    }

    private static async Task<(string Request, string Body)> SignInAsync(HttpClient browser, string key, HttpStatusCode expected)
    {
        var form = await browser.GetStringAsync("/login").WaitAsync(TestTimeouts.Request);
        var token = AntiforgeryTokenPattern().Match(form).Groups[1].Value;
        using var response = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["key"] = key,
            ["__RequestVerificationToken"] = token,
        })).WaitAsync(TestTimeouts.Request);

        Assert.Equal(expected, response.StatusCode);
        return ("POST /login", await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request));
    }

    private static async Task<(string Request, string Body)> SendAsync(HttpClient client, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{method} {path} should be rejected; got {(int)response.StatusCode}.");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return ($"{method} {path}", await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request));
    }

    private static async Task<(string Request, string Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path).WaitAsync(TestTimeouts.Request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} returned {(int)response.StatusCode}.");
        return ($"GET {path}", await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request));
    }

    /// <summary>The text around the first occurrence of <paramref name="secret"/>, for the failure message.</summary>
    private static string Around(string text, string secret)
    {
        var index = text.IndexOf(secret, StringComparison.Ordinal);
        var start = Math.Max(0, index - 300);
        return text[start..Math.Min(text.Length, index + secret.Length + 300)];
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryTokenPattern();
}

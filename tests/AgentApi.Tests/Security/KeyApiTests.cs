using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Security;

public sealed class KeyApiTests
{
    [Fact]
    public async Task CreatedReadKey_MayReadButNotSubmitOrManageKeys()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var admin = factory.CreateAuthenticatedClient();

        var created = await CreateAsync(admin, "reader", "read");
        using var reader = factory.CreateAuthenticatedClient(created.Key);
        var list = await reader.GetAsync("/api/tasks").WaitAsync(TestTimeouts.Request);
        var submit = await reader.PostAsJsonAsync("/api/tasks", new { input = "x" }).WaitAsync(TestTimeouts.Request);
        var keys = await reader.GetAsync("/api/keys").WaitAsync(TestTimeouts.Request);

        Assert.Equal(["read"], created.Scopes);
        Assert.StartsWith("aak_", created.Key, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, keys.StatusCode);
    }

    [Fact]
    public async Task CreatedSubmitKey_MaySubmitAndCancelButNotRead()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?> { ["Models:Default:LatencyMs"] = "600000" });
        using var admin = factory.CreateAuthenticatedClient();
        var created = await CreateAsync(admin, "producer", "submit");
        using var producer = factory.CreateAuthenticatedClient(created.Key);

        var submit = await producer.PostAsJsonAsync("/api/tasks", new { input = "x" }).WaitAsync(TestTimeouts.Request);
        var task = await submit.Content.ReadFromJsonAsync<TaskDto>().WaitAsync(TestTimeouts.Request);
        var cancel = await producer.PostAsync($"/api/tasks/{task!.Id}/cancel", null).WaitAsync(TestTimeouts.Request);
        var list = await producer.GetAsync("/api/tasks").WaitAsync(TestTimeouts.Request);
        var hangfire = await producer.GetAsync("/hangfire").WaitAsync(TestTimeouts.Request);
        var lanes = await producer.PutAsJsonAsync("/api/lanes/main", new { maxConcurrent = 3 }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Accepted, submit.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, hangfire.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, lanes.StatusCode);
    }

    [Fact]
    public async Task Revoke_OpenHubConnectionAndEventStream_AreClosed()
    {
        await using var factory = await AgentApiFactory.StartPostgresOnKestrelAsync(settings: new Dictionary<string, string?> { ["Models:Default:LatencyMs"] = "600000" });
        using var admin = factory.CreateAuthenticatedClient();
        var created = await CreateAsync(admin, "watcher", "read");
        var taskId = await factory.SubmitAsync(admin, new { input = "wait" });
        await using var hub = await Events.HubClient.ConnectAsync(factory, created.Key);
        await hub.SubscribeAllAsync();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        using var watcher = factory.CreateAuthenticatedClient(created.Key);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/tasks/{taskId}/events");
        request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await watcher.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestTimeouts.Request);
        var body = await response.Content.ReadAsStreamAsync();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                while (await body.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The server aborted the stream.
            }
            catch (HttpRequestException)
            {
                // The server aborted the stream.
            }
        });

        var delete = await admin.DeleteAsync("/api/keys/watcher").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await reading.WaitAsync(TimeSpan.FromSeconds(10));
        var task = await admin.GetFromJsonAsync<TaskDto>($"/api/tasks/{taskId}").WaitAsync(TestTimeouts.Request);
        Assert.False(task!.Status is "succeeded" or "failed" or "cancelled" or "timed_out", "The stream should end because of the revocation, not because the task finished.");
    }

    [Fact]
    public async Task List_ShowsNamesAndScopesButNeverKeys()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var admin = factory.CreateAuthenticatedClient();
        var created = await CreateAsync(admin, "ci-bot", "read", "submit");

        var body = await admin.GetStringAsync("/api/keys").WaitAsync(TestTimeouts.Request);
        using var document = JsonDocument.Parse(body);

        var entry = document.RootElement.EnumerateArray().Single(key => key.GetProperty("name").GetString() == "ci-bot");
        Assert.Equal(["read", "submit"], entry.GetProperty("scopes").EnumerateArray().Select(scope => scope.GetString()));
        Assert.Equal("stored", entry.GetProperty("source").GetString());
        Assert.Contains(document.RootElement.EnumerateArray(), key => key.GetProperty("source").GetString() == "configuration");
        Assert.DoesNotContain(created.Key, body, StringComparison.Ordinal);
        Assert.DoesNotContain(AgentApiFactory.AdminKey, body, StringComparison.Ordinal);
        Assert.False(entry.TryGetProperty("hash", out _));
    }

    [Fact]
    public async Task Delete_StoredKey_StopsWorkingAtOnce()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var admin = factory.CreateAuthenticatedClient();
        var created = await CreateAsync(admin, "temporary", "read");
        using var holder = factory.CreateAuthenticatedClient(created.Key);
        Assert.Equal(HttpStatusCode.OK, (await holder.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request)).StatusCode);

        var delete = await admin.DeleteAsync("/api/keys/temporary").WaitAsync(TestTimeouts.Request);
        var afterDelete = await holder.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request);
        var again = await admin.DeleteAsync("/api/keys/temporary").WaitAsync(TestTimeouts.Request);
        var configured = await admin.DeleteAsync("/api/keys/config-0").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterDelete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, configured.StatusCode);
    }

    [Theory]
    [InlineData("""{"name":"../up","scopes":["read"]}""", "name")]
    [InlineData("""{"name":"","scopes":["read"]}""", "name")]
    [InlineData("""{"scopes":["read"]}""", "name")]
    [InlineData("""{"name":"ok","scopes":["root"]}""", "scopes")]
    [InlineData("""{"name":"ok","scopes":[]}""", "scopes")]
    [InlineData("""{"name":"ok","scopes":["read","read"]}""", "scopes")]
    [InlineData("""{"name":"ok"}""", "scopes")]
    public async Task Create_InvalidBody_Is400NamingTheFieldAndStoresNothing(string body, string field)
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var admin = factory.CreateAuthenticatedClient();
        var before = await admin.GetStringAsync("/api/keys").WaitAsync(TestTimeouts.Request);

        var response = await admin.PostAsync("/api/keys", new StringContent(body, System.Text.Encoding.UTF8, "application/json")).WaitAsync(TestTimeouts.Request);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var after = await admin.GetStringAsync("/api/keys").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _));
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Create_NameTaken_Is409()
    {
        await using var factory = await AgentApiFactory.StartPostgresAsync();
        using var admin = factory.CreateAuthenticatedClient();
        await CreateAsync(admin, "twice", "read");

        var second = await admin.PostAsJsonAsync("/api/keys", new { name = "twice", scopes = new[] { "admin" } }).WaitAsync(TestTimeouts.Request);
        var configured = await admin.PostAsJsonAsync("/api/keys", new { name = "config-0", scopes = new[] { "read" } }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, configured.StatusCode);
    }

    [Fact]
    public async Task TwoInstances_KeyRevokedOnOne_IsRejectedByTheOther()
    {
        await using var first = await AgentApiFactory.StartPostgresAsync();
        await using var second = await AgentApiFactory.StartPostgresOnAsync(first.PostgresConnectionString!);
        using var admin = first.CreateAuthenticatedClient();
        var created = await CreateAsync(admin, "shared", "read");
        using var onSecond = second.CreateAuthenticatedClient(created.Key);
        await WaitForStatusAsync(onSecond, HttpStatusCode.OK);

        var delete = await admin.DeleteAsync("/api/keys/shared").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await WaitForStatusAsync(onSecond, HttpStatusCode.Unauthorized);
    }

    private static async Task<CreatedKey> CreateAsync(HttpClient admin, string name, params string[] scopes)
    {
        var response = await admin.PostAsJsonAsync("/api/keys", new { name, scopes }).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<CreatedKey>().WaitAsync(TestTimeouts.Request))!;
    }

    private static async Task WaitForStatusAsync(HttpClient client, HttpStatusCode expected)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(10);
        while (true)
        {
            var status = (await client.GetAsync("/api/lanes").WaitAsync(TestTimeouts.Request)).StatusCode;
            if (status == expected)
            {
                return;
            }

            Assert.True(TimeProvider.System.GetUtcNow() < deadline, $"Still {status}, expected {expected}.");
            await Task.Delay(50);
        }
    }

    private sealed record CreatedKey(string Name, List<string> Scopes, string Key);
}

using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;
using AgentApi.Webhooks;

namespace AgentApi.Tests.Webhooks;

public sealed class WebhookTests
{
    private const string Secret = "test-webhook-secret-0123456789";

    [Fact]
    public async Task Webhook_TaskSucceeds_PostsSignedFinalTaskOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();

        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "hello", webhookUrl = receiver.Url });
        var delivery = Assert.Single(await receiver.WaitForAsync(1, TestTimeouts.Task));
        var events = await WaitForEventAsync(client, taskId, "webhook_delivered");

        using var body = JsonDocument.Parse(delivery.Body);
        Assert.Equal(taskId, body.RootElement.GetProperty("id").GetGuid());
        Assert.Equal("succeeded", body.RootElement.GetProperty("status").GetString());
        Assert.StartsWith("[simulated]", body.RootElement.GetProperty("result").GetProperty("text").GetString(), StringComparison.Ordinal);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), delivery.Body));
        Assert.Equal(expected, delivery.Headers["X-AgentApi-Signature"]);
        Assert.Equal($"whd_{taskId:N}", delivery.Headers["X-AgentApi-Delivery"]);
        Assert.Equal("1", delivery.Headers["X-AgentApi-Attempt"]);
        Assert.Equal("task.finished", delivery.Headers["X-AgentApi-Event"]);
        var delivered = events.Single(e => e.Type == "webhook_delivered");
        Assert.Equal(200, delivered.Data!.Value.GetProperty("statusCode").GetInt32());
        await Task.Delay(1_500);
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task Webhook_ReceiverFailsTwice_RetriesWithBackoffThenDelivers()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 503);
        await using var factory = await StartAsync();
        using var client = factory.CreateAuthenticatedClient();

        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "hello", webhookUrl = receiver.Url });
        var deliveries = await receiver.WaitForAsync(3, TestTimeouts.Task);
        var events = await WaitForEventAsync(client, taskId, "webhook_delivered");
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{taskId}").WaitAsync(TestTimeouts.Request);

        Assert.Equal(["1", "2", "3"], deliveries.Select(d => d.Headers["X-AgentApi-Attempt"]));
        Assert.Single(deliveries.Select(d => d.Headers["X-AgentApi-Delivery"]).Distinct());
        Assert.All(deliveries, d => Assert.True(WebhookSignature.Verify(d.Body, Secret, d.Headers["X-AgentApi-Signature"])));
        Assert.True(deliveries[1].ReceivedAt - deliveries[0].ReceivedAt >= TimeSpan.FromMilliseconds(200));
        Assert.True(deliveries[2].ReceivedAt - deliveries[1].ReceivedAt >= TimeSpan.FromMilliseconds(400));
        var failures = events.Where(e => e.Type == "webhook_failed").ToList();
        Assert.Equal([500, 503], failures.Select(f => f.Data!.Value.GetProperty("statusCode").GetInt32()));
        Assert.Equal([200L, 400L], failures.Select(f => f.Data!.Value.GetProperty("retryInMs").GetInt64()));
        Assert.Equal("succeeded", task!.Status);
    }

    [Fact]
    public async Task Webhook_EveryAttemptFails_GivesUpAndTaskOutcomeStays()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 500, 500, 500);
        await using var factory = await StartAsync(new Dictionary<string, string?> { ["Webhooks:MaxAttempts"] = "2" });
        using var client = factory.CreateAuthenticatedClient();

        var taskId = await factory.SubmitAsync(client, new { agent = "general-purpose", input = "hello", webhookUrl = receiver.Url });
        await receiver.WaitForAsync(2, TestTimeouts.Task);
        var events = await WaitForEventAsync(client, taskId, "webhook_failed", count: 2);
        await Task.Delay(1_500);
        var task = await client.GetFromJsonAsync<TaskDto>($"/api/tasks/{taskId}").WaitAsync(TestTimeouts.Request);

        Assert.Equal(2, receiver.Received.Count);
        var last = events.Last(e => e.Type == "webhook_failed");
        Assert.Equal(JsonValueKind.Null, last.Data!.Value.GetProperty("retryInMs").ValueKind);
        Assert.Equal("succeeded", task!.Status);
    }

    [Fact]
    public async Task Submit_WebhookWithoutSecretOrToInternalAddress_Is400()
    {
        await using var noSecret = await AgentApiFactory.StartPostgresAsync();
        using var first = noSecret.CreateAuthenticatedClient();
        await using var withSecret = await AgentApiFactory.StartPostgresAsync(new Dictionary<string, string?>
        {
            ["Webhooks:Secret"] = Secret,
            ["Webhooks:AllowedHosts:0"] = "10.1.2.3:8080",
            ["Models:Default:LatencyMs"] = "600000",
        });
        using var second = withSecret.CreateAuthenticatedClient();

        var withoutSecret = await first.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = "https://hooks.example.test/in" }).WaitAsync(TestTimeouts.Request);
        var loopback = await second.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = "http://127.0.0.1:9/hook" }).WaitAsync(TestTimeouts.Request);
        var metadata = await second.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = "http://169.254.169.254/latest" }).WaitAsync(TestTimeouts.Request);
        var otherPort = await second.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = "http://10.1.2.3:9090/hook" }).WaitAsync(TestTimeouts.Request);
        var allowlisted = await second.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = "http://10.1.2.3:8080/hook" }).WaitAsync(TestTimeouts.Request);
        var hostName = await second.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = "https://hooks.example.test/in" }).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, withoutSecret.StatusCode);
        Assert.Contains("Webhooks:Secret", await withoutSecret.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, loopback.StatusCode);
        Assert.Contains("Webhooks:AllowedHosts", await loopback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, metadata.StatusCode);
        foreach (var local in new[] { "http://localhost:9/hook", "http://localhost.:9/hook", "http://127.0.0.1.:9/hook", "http://foo.localhost:9/hook", "http://2130706433:9/hook" })
        {
            var response = await second.PostAsJsonAsync("/api/tasks", new { input = "x", webhookUrl = local }).WaitAsync(TestTimeouts.Request);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{local} was accepted.");
        }

        Assert.Equal(HttpStatusCode.BadRequest, otherPort.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, allowlisted.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, hostName.StatusCode);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("localhost.")]
    public async Task Connection_InternalHostWithoutAllowlist_IsRefusedBeforeConnecting(string host)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var port = new Uri(receiver.Url).Port;
        using var client = new HttpClient(new WebhookConnections([]).CreateHandler());

        var refused = await Assert.ThrowsAsync<HttpRequestException>(
            () => client.PostAsync($"http://{host}:{port}/hook", new StringContent("{}")).WaitAsync(TestTimeouts.Request));

        Assert.Contains("loopback, private or link-local", refused.Message, StringComparison.Ordinal);
        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task Connection_AllowlistedInternalHost_IsDelivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var port = new Uri(receiver.Url).Port;
        using var client = new HttpClient(new WebhookConnections([$"localhost:{port}"]).CreateHandler());

        var response = await client.PostAsync($"http://localhost:{port}/hook", new StringContent("{}")).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(receiver.Received);
    }

    [Theory]
    [InlineData("169.254.169.254", true)]
    [InlineData("::ffff:169.254.10.1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("8.8.8.8", false)]
    [InlineData("2001:db8::1", false)]
    public void IsInternal_Address_MatchesNonPublicRanges(string address, bool isInternal) =>
        Assert.Equal(isInternal, WebhookConnections.IsInternal(IPAddress.Parse(address)));

    private static Task<AgentApiFactory> StartAsync(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Webhooks:Secret"] = Secret,
            ["Webhooks:RetryBaseDelay"] = "00:00:00.200",
            ["Webhooks:AllowedHosts:0"] = "127.0.0.1",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return AgentApiFactory.StartPostgresAsync(settings);
    }

    private static async Task<List<TaskEventDto>> WaitForEventAsync(HttpClient client, Guid taskId, string type, int count = 1)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TestTimeouts.Task;
        while (true)
        {
            var events = await client.GetFromJsonAsync<List<TaskEventDto>>($"/api/tasks/{taskId}/events").WaitAsync(TestTimeouts.Request);
            if (events!.Count(e => e.Type == type) >= count)
            {
                return events!;
            }

            Assert.True(TimeProvider.System.GetUtcNow() < deadline, $"Task {taskId} has no '{type}' event yet.");
            await Task.Delay(50);
        }
    }
}

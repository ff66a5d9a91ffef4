using System.Net;
using System.Text;
using AgentApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Tests.Tasks;

public sealed class BadInputTests(PostgresAppFixture fixture) : IClassFixture<PostgresAppFixture>
{
    private const string Json = "application/json";

    public static TheoryData<string, string, string?, string?, int, string?> Cases => new()
    {
        // method, path, content type, body, expected status, field named in errors
        { "POST", "/api/tasks", Json, "{", 400, "$" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSecond":5}""", 400, "timeoutSecond" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":[{"input":"b","subtasks":[{"input":"c"}]}]}""", 400, "subtasks[0].subtasks" },
        { "PUT", "/api/lanes/main", Json, """{"maxConcurrent":2,"x":1}""", 400, "x" },
        { "POST", "/api/tasks", Json, "not json at all", 400, "$" },
        { "POST", "/api/tasks", Json, "[1,2,3]", 400, "$" },
        { "POST", "/api/tasks", Json, "", 400, null },
        { "POST", "/api/tasks", Json, "{}", 400, "input" },
        { "POST", "/api/tasks", Json, """{"input":null}""", 400, "input" },
        { "POST", "/api/tasks", Json, """{"input":""}""", 400, "input" },
        { "POST", "/api/tasks", Json, """{"input":"   "}""", 400, "input" },
        { "POST", "/api/tasks", Json, """{"input":42}""", 400, "input" },
        { "POST", "/api/tasks", Json, """{"input":"a\u0000b"}""", 400, "input" },
        { "POST", "/api/tasks", Json, """{"input":"x","agent":"nope"}""", 400, "agent" },
        { "POST", "/api/tasks", Json, """{"input":"x","agent":"../../etc/passwd"}""", 400, "agent" },
        { "POST", "/api/tasks", Json, """{"input":"x","agent":""}""", 400, "agent" },
        { "POST", "/api/tasks", Json, """{"input":"x","priority":"urgent"}""", 400, "priority" },
        { "POST", "/api/tasks", Json, """{"input":"x","priority":"HIGH"}""", 400, "priority" },
        { "POST", "/api/tasks", Json, """{"input":"x","priority":""}""", 400, "priority" },
        { "POST", "/api/tasks", Json, """{"input":"x","priority":1}""", 400, "priority" },
        { "POST", "/api/tasks", Json, """{"input":"x","lane":"nowhere"}""", 400, "lane" },
        { "POST", "/api/tasks", Json, """{"input":"x","coordination":"some"}""", 400, "coordination" },
        { "POST", "/api/tasks", Json, """{"input":"x","workspace":"../etc"}""", 400, "workspace" },
        { "POST", "/api/tasks", Json, """{"input":"x","workspace":".."}""", 400, "workspace" },
        { "POST", "/api/tasks", Json, """{"input":"x","workspace":"a/b"}""", 400, "workspace" },
        { "POST", "/api/tasks", Json, """{"input":"x","workspace":"ws\n"}""", 400, "workspace" },
        { "POST", "/api/tasks", Json, """{"input":"x","tokenBudget":0}""", 400, "tokenBudget" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":[]}""", 400, "subtasks" },
        { "POST", "/api/tasks", Json, """{"input":"x","decompose":true,"subtasks":[{"input":"y"}]}""", 400, "decompose" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":[{"input":"y","timeoutSeconds":0}]}""", 400, "subtasks[0].timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":[{"input":"1"},{"input":"2"},{"input":"3"},{"input":"4"},{"input":"5"},{"input":"6"},{"input":"7"},{"input":"8"},{"input":"9"},{"input":"10"},{"input":"11"}]}""", 400, "subtasks" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":0}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":-5}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":99999999}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":1e40}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":"abc"}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":1.5}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"x","maxAttempts":0}""", 400, "maxAttempts" },
        { "POST", "/api/tasks", Json, """{"input":"x","maxAttempts":11}""", 400, "maxAttempts" },
        { "POST", "/api/tasks", Json, """{"input":"x","decompose":"yes"}""", 400, "decompose" },
        { "POST", "/api/tasks", Json, """{"input":"x","name":""}""", 400, "name" },
        { "POST", "/api/tasks", Json, """{"input":"x","name":"a\nb"}""", 400, "name" },
        { "POST", "/api/tasks", Json, """{"input":"x","sessionKey":"s\u0007k"}""", 400, "sessionKey" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":[{"agent":"explore"}]}""", 400, "subtasks[0].input" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":[{"input":"y","agent":"ghost"}]}""", 400, "subtasks[0].agent" },
        { "POST", "/api/tasks", Json, """{"input":"x","subtasks":"all"}""", 400, "subtasks" },
        { "POST", "/api/tasks", Json, """{"input":"x","metadata":"flat"}""", 400, "metadata" },
        { "POST", "/api/tasks", Json, """{"input":"x","webhookUrl":"ftp://example.test/hook"}""", 400, "webhookUrl" },
        { "POST", "/api/tasks", Json, """{"input":"x","webhookUrl":"not a url"}""", 400, "webhookUrl" },
        { "POST", "/api/tasks", Json, """{"input":"x","webhookUrl":"https://user:pw@example.test/"}""", 400, "webhookUrl" },
        { "POST", "/api/tasks", Json, """{"input":"x","webhookUrl":"http://127.0.0.1/a\u0000b"}""", 400, "webhookUrl" },
        { "POST", "/api/tasks", Json, """{"input":"x","webhookUrl":"http://127.0.0.1/a\r\nX-Injected: 1"}""", 400, "webhookUrl" },
        { "POST", "/api/tasks", Json, """{"input":"x","timeoutSeconds":"10"}""", 400, "timeoutSeconds" },
        { "POST", "/api/tasks", Json, """{"input":"first","input":"second"}""", 400, "input" },
        { "GET", "/api/tasks?agent=%00", null, null, 400, "agent" },
        { "POST", "/api/tasks", "text/plain", """{"input":"x"}""", 415, null },
        { "POST", "/api/tasks", Json, $$"""{"input":"{{new string('a', 100_001)}}"}""", 400, "input" },
        { "POST", "/api/tasks", Json, "{\"input\":\"x\",\"metadata\":{\"blob\":\"" + new string('m', 17_000) + "\"}}", 400, "metadata" },
        { "POST", "/api/tasks", Json, $$"""{"input":"{{new string('a', 1_100_000)}}"}""", 413, null },
        { "POST", "/api/tasks", Json, "{\"input\":\"x\",\"subtasks\":[" + string.Join(',', Enumerable.Repeat("{\"input\":\"s\"}", 51)) + "]}", 400, "subtasks" },
        { "GET", "/api/tasks?status=done", null, null, 400, "status" },
        { "GET", "/api/tasks?limit=0", null, null, 400, "limit" },
        { "GET", "/api/tasks?limit=5000", null, null, 400, "limit" },
        { "GET", "/api/tasks?limit=abc", null, null, 400, "limit" },
        { "GET", "/api/tasks?cursor=zzz", null, null, 400, "cursor" },
        { "GET", "/api/tasks?parentId=1", null, null, 400, "parentId" },
        { "GET", "/api/tasks/00000000-0000-0000-0000-000000000000/events?after=-1", null, null, 400, "after" },
        { "GET", "/api/tasks/00000000-0000-0000-0000-000000000000/events?after=x", null, null, 400, "after" },
        { "GET", "/api/tasks/00000000-0000-0000-0000-000000000000/events", null, null, 404, null },
        { "GET", "/api/tasks/%2e%2e%2f%2e%2e%2fetc%2fpasswd", null, null, 404, null },
        { "POST", "/api/tasks/00000000-0000-0000-0000-000000000000/cancel", null, null, 404, null },
        { "POST", "/api/tasks/nonsense/cancel", null, null, 404, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_Gets4xxProblemAndChangesNothing(
        string method,
        string path,
        string? contentType,
        string? body,
        int expectedStatus,
        string? field)
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var before = await CountRowsAsync();

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType!);
        }

        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(expectedStatus, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(expectedStatus, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("title", out _));
        if (field is not null)
        {
            var errors = problem.RootElement.GetProperty("errors");
            Assert.True(errors.TryGetProperty(field, out var messages), $"errors should name '{field}': {text}");
            Assert.NotEmpty(messages.EnumerateArray());
        }

        Assert.Equal(before, await CountRowsAsync());
    }

    [Fact]
    public async Task IdempotencyKey_Invalid_Rejected()
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();
        var before = await CountRowsAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks")
        {
            Content = new StringContent("""{"input":"x"}""", Encoding.UTF8, Json),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 300));
        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Idempotency-Key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, await CountRowsAsync());
    }

    [Fact]
    public async Task UnknownField_IsNamedAsUnknown()
    {
        using var client = fixture.Factory.CreateAuthenticatedClient();

        using var response = await client.PostAsync(
            "/api/tasks",
            new StringContent("""{"inptu":"x"}""", Encoding.UTF8, Json)).WaitAsync(TestTimeouts.Request);
        var text = await response.Content.ReadAsStringAsync();
        using var problem = System.Text.Json.JsonDocument.Parse(text);
        var message = problem.RootElement.GetProperty("errors").GetProperty("inptu")[0].GetString();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Field 'inptu' is not a field of this request.", problem.RootElement.GetProperty("detail").GetString());
        Assert.StartsWith("Unknown field", message, StringComparison.Ordinal);
        Assert.DoesNotContain("AgentApi.", text, StringComparison.Ordinal);
    }

    private async Task<(int Tasks, int Events, long Jobs)> CountRowsAsync()
    {
        await using var db = fixture.Factory.CreateDbContext();
        var tasks = await db.Tasks.CountAsync();
        var events = await db.TaskEvents.CountAsync();

        await using var connection = new Npgsql.NpgsqlConnection(fixture.Factory.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select count(*) from hangfire.job", connection);
        var jobs = (long)(await command.ExecuteScalarAsync())!;
        return (tasks, events, jobs);
    }
}

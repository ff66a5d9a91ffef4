using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Errors;

/// <summary>Every 4xx carries type, title, status, detail and traceId, whatever the request's Accept header.</summary>
public sealed class ProblemDetailsContractTests(PostgresAppFixture fixture) : IClassFixture<PostgresAppFixture>
{
    public static TheoryData<string, string, string?, bool, int> Cases => new()
    {
        // method, path, body, send the key, expected status
        { "GET", "/api/nothing-here", null, true, 404 },
        { "DELETE", "/api/lanes", null, true, 405 },
        { "GET", "/api/tasks", null, false, 401 },
        { "POST", "/api/tasks", "{bad", true, 400 },
        { "GET", $"/api/tasks/{Guid.Empty}/events", null, true, 404 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Error_AnyAccept_HasEveryField(string method, string path, string? body, bool withKey, int status)
    {
        using var client = withKey ? fixture.Factory.CreateAuthenticatedClient() : fixture.Factory.CreateClient();
        foreach (var accept in new[] { null, "application/json", "text/html", "text/event-stream", "application/xml" })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (accept is not null)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            }

            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);
            var text = await response.Content.ReadAsStringAsync();
            using var problem = JsonDocument.Parse(text);
            var root = problem.RootElement;

            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(status, root.GetProperty("status").GetInt32());
            foreach (var field in new[] { "type", "title", "detail", "traceId" })
            {
                Assert.True(
                    root.TryGetProperty(field, out var value) && !string.IsNullOrEmpty(value.GetString()),
                    $"'{field}' is missing for {method} {path} with Accept '{accept}': {text}");
            }
        }
    }
}

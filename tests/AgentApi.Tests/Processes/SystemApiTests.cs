using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Processes;
using AgentApi.Security;
using AgentApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Processes;

public sealed class SystemApiTests(PostgresAppFixture fixture) : IClassFixture<PostgresAppFixture>
{
    private AgentApiFactory Factory => fixture.Factory;

    [Fact]
    public async Task SystemResources_AdminKey_ReturnsEveryField()
    {
        using var client = Factory.CreateAuthenticatedClient();

        using var response = await client.GetAsync("/api/system/resources").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request));
        var root = body.RootElement;
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("processorCount").GetInt32());

        // The service runs in this process, so it reads the same affinity.
        var expectedAffinity = CpuAffinity.ParseStatus(await File.ReadAllTextAsync("/proc/self/status").WaitAsync(TestTimeouts.Request));
        Assert.Equal(expectedAffinity, root.GetProperty("affinity").EnumerateArray().Select(cpu => cpu.GetInt32()));

        var cgroup = root.GetProperty("cgroup");
        Assert.Equal(["version", "cpu", "cpuset", "memory", "pids"], cgroup.EnumerateObject().Select(property => property.Name));
        Assert.Equal(["quotaUs", "periodUs", "shares", "weight"], cgroup.GetProperty("cpu").EnumerateObject().Select(property => property.Name));
        Assert.Equal(["limitBytes", "usageBytes"], cgroup.GetProperty("memory").EnumerateObject().Select(property => property.Name));
        Assert.Equal(["max"], cgroup.GetProperty("pids").EnumerateObject().Select(property => property.Name));
    }

    [Fact]
    public async Task SystemResources_NoKey_Returns401Problem()
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var response = await client.GetAsync("/api/system/resources").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task SystemResources_ScopedKeys_NeedReadScope()
    {
        var store = Factory.Services.GetRequiredService<ApiKeyStore>();
        var readKey = await store.CreateAsync("system-read", [ApiKeyScopes.Read], CancellationToken.None).WaitAsync(TestTimeouts.Request);
        var submitKey = await store.CreateAsync("system-submit", [ApiKeyScopes.Submit], CancellationToken.None).WaitAsync(TestTimeouts.Request);
        using var readClient = Factory.CreateAuthenticatedClient(readKey);
        using var submitClient = Factory.CreateAuthenticatedClient(submitKey);

        using var readResponse = await readClient.GetAsync("/api/system/resources").WaitAsync(TestTimeouts.Request);
        using var submitResponse = await submitClient.GetAsync("/api/system/resources").WaitAsync(TestTimeouts.Request);

        Assert.Equal(HttpStatusCode.OK, readResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, submitResponse.StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_ListsSystemResources()
    {
        using var client = Factory.CreateAuthenticatedClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json").WaitAsync(TestTimeouts.Request);

        var operation = document.GetProperty("paths").GetProperty("/api/system/resources").GetProperty("get");
        Assert.Equal("System", operation.GetProperty("tags")[0].GetString());
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("SystemResources", out _));
    }

    [Fact]
    public async Task SystemResources_FixtureReader_ReturnsItsValuesAndNulls()
    {
        using var root = new FixtureRoot();
        root.Write("/proc/self/status", "Cpus_allowed_list:\t1,3\n")
            .WriteVersion2Process("/app")
            .Write("/sys/fs/cgroup/app/cpu.max", "max 100000\n")
            .Write("/sys/fs/cgroup/app/cpu.weight", "250\n")
            .Write("/sys/fs/cgroup/app/cpuset.cpus.effective", "1,3\n")
            .Write("/sys/fs/cgroup/app/memory.max", "1073741824\n")
            .Write("/sys/fs/cgroup/app/memory.current", "52428800\n")
            .Write("/sys/fs/cgroup/app/pids.max", "max\n");
        await using var factory = AgentApiFactory.StartEmbedded(configureServices: services =>
            services.Replace(ServiceDescriptor.Singleton<ISystemResourcesReader>(
                new SystemResourcesReader(root.Path, NullLogger.Instance))));
        using var client = factory.CreateAuthenticatedClient();

        var body = await client.GetStringAsync("/api/system/resources").WaitAsync(TestTimeouts.Request);

        var expected =
            """
            {"processorCount":PROCESSORS,"affinity":[1,3],"cgroup":{"version":2,
            "cpu":{"quotaUs":null,"periodUs":100000,"shares":null,"weight":250},"cpuset":"1,3",
            "memory":{"limitBytes":1073741824,"usageBytes":52428800},"pids":{"max":null}}}
            """.ReplaceLineEndings(string.Empty).Replace("PROCESSORS", $"{Environment.ProcessorCount}", StringComparison.Ordinal);
        Assert.Equal(expected, body);
    }
}

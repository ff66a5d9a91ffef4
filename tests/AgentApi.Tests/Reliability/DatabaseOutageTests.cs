using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using AgentApi.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace AgentApi.Tests.Reliability;

/// <summary>PostgreSQL taken away for 20 seconds while tasks arrive and run.</summary>
[Trait("Category", "Reliability")]
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task DatabaseDown_Gets503ThenCompletesAll()
    {
        var direct = new NpgsqlConnectionStringBuilder(await PostgresServer.CreateDatabaseAsync());
        await using var gate = new TcpGate(new IPEndPoint(IPAddress.Parse(direct.Host!), direct.Port));
        var throughGate = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = gate.Port };
        await using var factory = await AgentApiFactory.StartPostgresOnAsync(throughGate.ConnectionString, new Dictionary<string, string?>
        {
            ["Models:Default:LatencyMs"] = "300",
            ["Lanes:main:MaxConcurrent"] = "10",
            ["Leases:Duration"] = "00:00:05",
            ["Leases:RenewInterval"] = "00:00:01",
        });
        using var client = factory.CreateAuthenticatedClient();

        ConcurrentBag<Guid> accepted = [];
        ConcurrentBag<double> duringOutage = [];
        ConcurrentBag<string> unexpected = [];
        ConcurrentBag<string> rejectedKeys = [];
        var outageStarted = 0L;
        var outageEnded = 0L;
        using var stop = new CancellationTokenSource();

        // Ten submissions a second from before the outage until after it.
        var load = Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    // A 503 whose connection broke while the commit was under way may still have
                    // stored the task. The key identifies such a task at the end.
                    var key = $"outage-{n}";
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = JsonContent.Create(new { input = $"outage load {n}" }) };
                    request.Headers.Add("Idempotency-Key", key);
                    using var response = await client.SendAsync(request);
                    var elapsed = Stopwatch.GetElapsedTime(sent);
                    var down = Interlocked.Read(ref outageStarted) != 0 && Interlocked.Read(ref outageEnded) == 0;
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        accepted.Add((await response.Content.ReadFromJsonAsync<TaskDto>())!.Id);
                    }
                    else if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null && down)
                    {
                        duringOutage.Add(elapsed.TotalMilliseconds);
                        rejectedKeys.Add(key);
                        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    }
                    else
                    {
                        unexpected.Add($"{(int)response.StatusCode} after {elapsed.TotalMilliseconds:F0} ms: {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    unexpected.Add($"{exception.GetType().Name}: {exception.Message}");
                }

                await Task.Delay(100);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(3));
        gate.Close();
        Interlocked.Exchange(ref outageStarted, Stopwatch.GetTimestamp());
        await Task.Delay(TimeSpan.FromSeconds(2));
        using (var ready = await client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        await Task.Delay(Outage - TimeSpan.FromSeconds(2));
        gate.Open();

        // A response that was already on its way when the gate opened may still be a 503.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Interlocked.Exchange(ref outageEnded, Stopwatch.GetTimestamp());
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await load;

        Assert.Empty(unexpected);
        Assert.True(duringOutage.Count >= 20, $"only {duringOutage.Count} submissions got a 503 during the outage");
        Assert.True(duringOutage.Max() < 10_000, $"a 503 took {duringOutage.Max():F0} ms");
        Assert.True(accepted.Count >= 15, $"only {accepted.Count} submissions were accepted");
        using (var ready = await client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var database = new ReliabilityDatabase(direct.ConnectionString);
        var sinceLoad = System.Diagnostics.Stopwatch.StartNew();
        await ReliabilityDatabase.WaitUntilAsync(
            async () => await database.UnfinishedAsync() == 0, TimeSpan.FromSeconds(60), "every accepted task to finish");
        output.WriteLine($"{duringOutage.Count} submissions got 503 (slowest {duringOutage.Max():F0} ms), {accepted.Count} accepted; "
            + $"all finished {sinceLoad.Elapsed.TotalSeconds:F1} s after the load stopped.");
        var notSucceeded = await database.NotSucceededAsync();
        Assert.True(notSucceeded.Count == 0, $"tasks that did not succeed:\n{string.Join("\n", notSucceeded)}");
        var acceptedIds = string.Join(',', accepted.Select(id => $"'{id}'"));
        Assert.Equal(accepted.Count, await database.CountAsync($"select count(*) from tasks where status = 'succeeded' and id in ({acceptedIds})"));

        // Any other stored task must be one whose submission got a 503 during the outage.
        var others = await database.StringsAsync($"select idempotency_key from tasks where id not in ({acceptedIds})");
        output.WriteLine($"{others.Count} tasks were stored although their submission got a 503.");
        Assert.All(others, key => Assert.Contains(key, rejectedKeys));
        Assert.Empty(await database.TasksNotFinishedExactlyOnceAsync());
    }
}

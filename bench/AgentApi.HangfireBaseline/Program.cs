using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;

// Hangfire's stock pipeline as the end-to-end baseline: enqueues JOBS no-op jobs from 16
// concurrent clients while 10 workers of one server process them, and prints the jobs per
// second from the first enqueue to the last success. Usage: CONNECTION_STRING [JOBS=5000]
if (args.Length < 1)
{
    Console.Error.WriteLine("Usage: AgentApi.HangfireBaseline CONNECTION_STRING [JOBS=5000]");
    return 2;
}

var jobCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5_000;
var storage = new PostgreSqlStorage(
    new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(args[0], new PostgreSqlStorageOptions()),
    new PostgreSqlStorageOptions { QueuePollInterval = TimeSpan.FromMilliseconds(200), PrepareSchemaIfNecessary = true });
GlobalConfiguration.Configuration.UseStorage(storage).UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();
var client = new BackgroundJobClient(storage);
var monitoring = storage.GetMonitoringApi();
var before = monitoring.SucceededListCount();

using var server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = 10 }, storage);
var clock = Stopwatch.StartNew();
await Parallel.ForEachAsync(Enumerable.Range(0, jobCount), new ParallelOptions { MaxDegreeOfParallelism = 16 }, (_, _) =>
{
    client.Enqueue(() => NoOp.Run());
    return ValueTask.CompletedTask;
});
var enqueued = clock.Elapsed;
while (monitoring.SucceededListCount() - before < jobCount)
{
    await Task.Delay(20);
}

var total = clock.Elapsed;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"hangfire: {jobCount} no-op jobs, 10 workers: enqueued in {enqueued.TotalSeconds:F2} s, all succeeded after {total.TotalSeconds:F2} s = {jobCount / total.TotalSeconds:F0} jobs/s"));
return 0;

/// <summary>The job: does nothing, so the figure is Hangfire's own cost per job.</summary>
public static class NoOp
{
    public static void Run()
    {
    }
}

using System.Diagnostics;
using System.Globalization;

namespace AgentApi.HubBenchmark;

/// <summary>Prints a run's figures, then the same figures as a Markdown table row for docs/benchmarks.md.</summary>
internal static class BenchmarkReport
{
    /// <summary>The target: no event lost and a p99 latency under 100 ms.</summary>
    private const double TargetP99Milliseconds = 100;

    public static void Print(
        BenchmarkOptions options,
        BenchmarkService service,
        PublishResult published,
        SubscriberResult received,
        ResourceUsage serviceUsage,
        TimeSpan? cpuPressure)
    {
        var deliveryTime = received.LastReceivedAt > published.StartedAt
            ? Stopwatch.GetElapsedTime(published.StartedAt, received.LastReceivedAt)
            : TimeSpan.Zero;
        var deliveredPerSecond = deliveryTime > TimeSpan.Zero ? received.Received / deliveryTime.TotalSeconds : 0;

        Console.WriteLine();
        var timing = service.Timing;
        Console.WriteLine($"mode        {options.SubscribeMethod}: {timing.MeasuredSends:N0} sends started with {timing.MeasuredEventsSent:N0} measured events, {Average(timing.MeasuredEventsSent, timing.MeasuredSends)} events each");
        PrintDelivery(service, published, received, deliveryTime, deliveredPerSecond);
        PrintCosts(options, service, received, serviceUsage, cpuPressure);

        var latency = received.Latency;
        var met = received.Lost == 0 && received.Duplicates == 0 && latency.P99 < TargetP99Milliseconds;
        Console.WriteLine($"target      no event lost and p99 under {TargetP99Milliseconds:F0} ms: {(met ? "met" : "not met")}");
        Console.WriteLine();
        PrintTableRow(options, service, received, serviceUsage, deliveredPerSecond);
    }

    private static void PrintDelivery(
        BenchmarkService service,
        PublishResult published,
        SubscriberResult received,
        TimeSpan deliveryTime,
        double deliveredPerSecond)
    {
        Console.WriteLine($"published   {published.Published:N0} events in {published.Elapsed.TotalSeconds:F2} s, {published.Batches:N0} batches, at most {published.MaxLag.TotalMilliseconds:F0} ms behind schedule");
        Console.WriteLine($"received    {received.Received:N0} of {received.Expected:N0} deliveries ({Percent(received.Received, received.Expected)}); lost {received.Lost:N0}; clients missing events {received.ClientsMissingEvents:N0} (fewest received {received.FewestReceived:N0} of {received.EventsPerClient:N0})");
        Console.WriteLine($"            duplicates {received.Duplicates:N0}, out of order {received.Reordered:N0}, unexpected {received.Unexpected:N0}, disconnected clients {received.Disconnected:N0}; broadcast dropped {service.Warnings.Dropped:N0}, failed sends {service.Warnings.FailedSends:N0}");
        Console.WriteLine($"delivered   {deliveredPerSecond:N0} events/s ({received.Received:N0} over {deliveryTime.TotalSeconds:F2} s from the first publish to the last receipt)");

        var latency = received.Latency;
        Console.WriteLine($"latency ms  p50 {latency.P50:F1}, p95 {latency.P95:F1}, p99 {latency.P99:F1}, p99.9 {latency.P999:F1}, max {latency.Max:F1}, mean {latency.Mean:F1}");

        var started = service.Timing.SendStarted;
        Console.WriteLine($"server ms   send to the connections started p50 {started.P50:F1}, p99 {started.P99:F1}, max {started.Max:F1}");
    }

    private static void PrintCosts(
        BenchmarkOptions options,
        BenchmarkService service,
        SubscriberResult received,
        ResourceUsage serviceUsage,
        TimeSpan? cpuPressure)
    {
        PrintUsage("service", serviceUsage);
        if (!options.ClientsInProcess)
        {
            PrintUsage("clients", received.Resources);
        }

        var handedOver = service.Timing.DeliveriesHandedOver;
        var clients = options.ClientsInProcess
            ? "the clients ran in the same process"
            : $"the clients used {Microseconds(received.Resources.CpuSeconds, received.Received)} µs of CPU per delivery received";
        Console.WriteLine($"per delivery the service handed {handedOver:N0} deliveries to connections, {Microseconds(serviceUsage.CpuSeconds, handedOver)} µs of its CPU each; {clients}");

        if (cpuPressure is { } stalled)
        {
            Console.WriteLine($"machine     some runnable task waited for a CPU during {100 * stalled.TotalSeconds / serviceUsage.WallSeconds:F0} % of the phase (/proc/pressure/cpu)");
        }
    }

    private static void PrintTableRow(
        BenchmarkOptions options,
        BenchmarkService service,
        SubscriberResult received,
        ResourceUsage serviceUsage,
        double deliveredPerSecond)
    {
        var latency = received.Latency;
        var clientsCpu = options.ClientsInProcess ? "in service" : received.Resources.Cores.ToString("F2", CultureInfo.InvariantCulture);
        Console.WriteLine("| mode | protocol | client | clients | events/s | seconds | storage | delivered events/s | p50 ms | p95 ms | p99 ms | max ms | lost | service CPU (cores) | clients CPU (cores) | service peak RSS MiB |");
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {(options.Batched ? "batched" : "per event")} | {BenchmarkOptions.ProtocolName(options.Protocol)} | {BenchmarkOptions.ClientName(options.Client)}{(options.TunedClients ? ", tuned" : "")} | {options.Clients:N0} | {options.Rate:N0} | {options.Duration.TotalSeconds:F0} | {service.StorageName} | {deliveredPerSecond:N0} | {latency.P50:F1} | {latency.P95:F1} | {latency.P99:F1} | {latency.Max:F0} | {received.Lost:N0} ({Percent(received.Lost, received.Expected)}) | {serviceUsage.Cores:F2} | {clientsCpu} | {serviceUsage.PeakWorkingSetMiB:F0} |"));
    }

    private static void PrintUsage(string label, ResourceUsage usage) =>
        Console.WriteLine($"{label,-11} CPU {usage.CpuSeconds:F1} s over {usage.WallSeconds:F1} s ({usage.Cores:F2} cores), peak RSS {usage.PeakWorkingSetMiB:F0} MiB, allocated {usage.AllocatedMiB:N0} MiB, GCs gen0/1/2 {usage.Gen0Collections}/{usage.Gen1Collections}/{usage.Gen2Collections}, JIT {usage.MethodsCompiled:N0} methods in {usage.JitSeconds:F1} s");

    private static string Microseconds(double cpuSeconds, long count) =>
        count == 0 ? "-" : (cpuSeconds * 1_000_000 / count).ToString("F2", CultureInfo.InvariantCulture);

    private static string Average(long total, long count) =>
        count == 0 ? "-" : (total / (double)count).ToString("F1", CultureInfo.InvariantCulture);

    private static string Percent(long part, long whole) =>
        whole == 0 ? "0 %" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * part / whole:0.##} %");
}

using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;
using AgentApi.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentApi.HubBenchmark;

/// <summary>
/// One benchmark run: starts the service, connects the clients, publishes warm-up rounds, then the
/// measured events, waits for late ones, and prints the figures.
/// </summary>
internal static class BenchmarkRun
{
    private const int WarmupRate = 100;
    private const long WarmupRoundEvents = 200;
    private const int MinWarmupRounds = 3;
    private const int MaxWarmupRounds = 20;

    /// <summary>A warm-up round in which each process compiled fewer methods than this ends the warm-up.</summary>
    private const int QuietRoundMethods = 20;

    /// <summary>The runtime's setting for the shared array pool, read from the environment at start-up.</summary>
    private const string ArraysPerPartitionVariable = "DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION";

    private static readonly TimeSpan WarmupDrain = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SubscribeTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(BenchmarkOptions options, CancellationToken cancellationToken)
    {
        PrintMachine();
        await using var service = BenchmarkService.Start(options);
        Console.WriteLine($"service: {service.HubUrl}, storage {service.StorageName}, {DescribeDelivery(service)}");

        var connecting = Stopwatch.StartNew();
        await using var subscribers = await ConnectAsync(options, service, cancellationToken);
        await WaitForSubscriptionsAsync(service, options, cancellationToken);
        var where = options.ClientsInProcess ? "in the service's process" : "in a child process";
        Console.WriteLine($"clients: {options.Clients:N0} connected with the {BenchmarkOptions.ProtocolName(options.Protocol)} hub protocol and --client {BenchmarkOptions.ClientName(options.Client)}{(options.TunedClients ? " --tuned-clients" : "")}, and called {options.SubscribeMethod} {where} in {connecting.Elapsed.TotalSeconds:F1} s");

        var publisher = new EventPublisher(service.Services.GetRequiredService<TaskEventBus>(), TimeProvider.System, options.Tasks);
        await WarmUpAsync(publisher, subscribers, options, cancellationToken);

        Console.WriteLine($"publishing {options.EventCount:N0} events at {options.Rate:N0}/s over {options.Tasks:N0} tasks, then draining for up to {options.Drain.TotalSeconds:F0} s");
        await subscribers.StartMeasuringAsync(cancellationToken);
        var start = ResourceUsage.Take();
        var pressureStart = CpuPressure.ReadTotal();
        var published = await publisher.PublishAsync(0, options.EventCount, options.Rate, options.BatchInterval, cancellationToken);
        var received = await subscribers.FinishAsync(options.Drain, cancellationToken);
        var serviceUsage = ResourceUsage.Since(start);
        var pressure = CpuPressure.ReadTotal() - pressureStart;

        BenchmarkReport.Print(options, service, published, received, serviceUsage, pressure);
        return 0;
    }

    private static async Task<ISubscribers> ConnectAsync(BenchmarkOptions options, BenchmarkService service, CancellationToken cancellationToken)
    {
        if (options.ClientsInProcess)
        {
            return await SubscriberPool.ConnectAsync(service.HubUrl, service.ApiKey, options.Clients, options.EventCount, options.Batched, options.Protocol, options.Client, readAheadBytes: 0, cancellationToken);
        }

        var process = await SubscriberProcess.StartAsync(service.HubUrl, service.ApiKey, options.Clients, options.EventCount, options.Batched, options.Protocol, options.Client, options.TunedClients, cancellationToken);
        var window = await process.CheckClockAsync(cancellationToken);
        Console.WriteLine($"clock: the child's Stopwatch reading fell inside this process's {window.TotalMicroseconds:F0} µs window, so both read one clock");
        return process;
    }

    /// <summary>Waits until the hub counts every client's <c>SubscribeAll</c> or <c>SubscribeAllBatched</c>.</summary>
    private static async Task WaitForSubscriptionsAsync(BenchmarkService service, BenchmarkOptions options, CancellationToken cancellationToken)
    {
        var subscriptions = service.Services.GetRequiredService<TaskHubSubscriptions>();
        int Subscribed() => options.Batched ? subscriptions.AllBatchedCount : subscriptions.AllCount;
        var waiting = Stopwatch.StartNew();
        while (Subscribed() < options.Clients)
        {
            if (waiting.Elapsed > SubscribeTimeout)
            {
                throw new TimeoutException($"Only {Subscribed()} of {options.Clients} clients had called {options.SubscribeMethod} after {SubscribeTimeout.TotalSeconds} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }

    /// <summary>
    /// Publishes rounds of events that are not measured until the JIT is nearly done in both
    /// processes: tiered compilation recompiles hot methods in the background for a while, and a
    /// measurement taken before then times partly unoptimised code. Then publishes for
    /// <see cref="BenchmarkOptions.Warmup"/> at the measured rate, unmeasured, and waits for
    /// those events too.
    /// </summary>
    private static async Task WarmUpAsync(EventPublisher publisher, ISubscribers subscribers, BenchmarkOptions options, CancellationToken cancellationToken)
    {
        long published = 0;
        long serviceCompiled = 0;
        long clientsCompiled = 0;
        var round = 0;
        var quiet = false;
        while (round < MaxWarmupRounds && !quiet)
        {
            round++;
            await publisher.PublishAsync(-(published + WarmupRoundEvents), WarmupRoundEvents, WarmupRate, options.BatchInterval, cancellationToken);
            published += WarmupRoundEvents;

            var expected = published * options.Clients;
            var counts = await WaitForWarmupAsync(subscribers, expected, cancellationToken);

            var serviceNow = JitInfo.GetCompiledMethodCount();
            quiet = round >= MinWarmupRounds
                && serviceNow - serviceCompiled < QuietRoundMethods
                && counts.MethodsCompiled - clientsCompiled < QuietRoundMethods;
            Console.WriteLine($"warm-up {round}: {WarmupRoundEvents} events at {WarmupRate}/s, {counts.Warmup:N0} of {expected:N0} deliveries arrived; the JIT compiled {serviceNow - serviceCompiled} methods in the service's process and {counts.MethodsCompiled - clientsCompiled} in the clients'");
            serviceCompiled = serviceNow;
            clientsCompiled = counts.MethodsCompiled;
        }

        if (options.Warmup <= TimeSpan.Zero)
        {
            return;
        }

        var atRate = (long)(options.Rate * options.Warmup.TotalSeconds);
        await publisher.PublishAsync(-(published + atRate), atRate, options.Rate, options.BatchInterval, cancellationToken);
        published += atRate;
        var drained = await WaitForWarmupAsync(subscribers, published * options.Clients, cancellationToken);
        Console.WriteLine($"warm-up at rate: {atRate:N0} events at {options.Rate:N0}/s, {drained.Warmup:N0} of {published * options.Clients:N0} deliveries arrived; the JIT compiled {JitInfo.GetCompiledMethodCount() - serviceCompiled} methods in the service's process and {drained.MethodsCompiled - clientsCompiled} in the clients'");
    }

    /// <summary>Waits until the clients have received <paramref name="expected"/> warm-up deliveries, or for <see cref="WarmupDrain"/>.</summary>
    private static async Task<ReceivedCounts> WaitForWarmupAsync(ISubscribers subscribers, long expected, CancellationToken cancellationToken)
    {
        var waiting = Stopwatch.StartNew();
        var counts = await subscribers.GetCountsAsync(cancellationToken);
        while (counts.Warmup < expected && waiting.Elapsed < WarmupDrain)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            counts = await subscribers.GetCountsAsync(cancellationToken);
        }

        return counts;
    }

    /// <summary>Describes the service's batch settings, which apply to <c>SubscribeAllBatched</c> clients only.</summary>
    private static string DescribeDelivery(BenchmarkService service)
    {
        var events = service.Services.GetRequiredService<IOptions<EventOptions>>().Value;
        return $"batches for SubscribeAllBatched every {events.BatchInterval.TotalMilliseconds:F0} ms or {events.MaxBatchSize:N0} events";
    }

    private static void PrintMachine()
    {
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, load average {load}");
        var arrays = Environment.GetEnvironmentVariable(ArraysPerPartitionVariable);
        Console.WriteLine(arrays is null
            ? $"service's process: {ArraysPerPartitionVariable} unset, so the shared array pool keeps the runtime's default of 32 arrays per partition"
            : $"service's process: {ArraysPerPartitionVariable}={arrays}, as docs/api.md advises for hundreds of dashboard connections");
    }
}

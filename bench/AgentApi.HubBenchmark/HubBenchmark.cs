namespace AgentApi.HubBenchmark;

/// <summary>
/// The entry point. It is not named Program, because the service's own <c>Program</c> is the
/// type that <c>WebApplicationFactory</c> starts.
/// </summary>
internal static class HubBenchmark
{
    private static async Task<int> Main(string[] args)
    {
        if (args is [SubscriberHost.Command, .. var rest])
        {
            return await SubscriberHost.RunAsync(rest);
        }

        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(BenchmarkOptions.Usage);
            return 0;
        }

        BenchmarkOptions options;
        try
        {
            options = BenchmarkOptions.Parse(args);
        }
        catch (ArgumentException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            await Console.Error.WriteLineAsync(BenchmarkOptions.Usage);
            return 2;
        }

        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, eventArgs) =>
        {
            eventArgs.Cancel = true;
            cancellation.Cancel();
        };

        return await BenchmarkRun.RunAsync(options, cancellation.Token);
    }
}

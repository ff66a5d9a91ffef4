using AgentApi.Benchmarks;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// `memory`, `makespan` and `rounds [LIMIT]` are plain console measurements. Any other arguments go
// to BenchmarkDotNet.
return args switch
{
    ["memory"] => await MemoryProbe.RunAsync(),
    ["makespan"] => await MakespanProbe.RunAsync(),
    ["rounds"] => await DispatchRoundsProbe.RunAsync(limit: 3),
    ["rounds", var limit] => await DispatchRoundsProbe.RunAsync(int.Parse(limit, System.Globalization.CultureInfo.InvariantCulture)),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    var config = DefaultConfig.Instance.AddColumn(new ItemsPerSecondColumn());
    var summaries = BenchmarkSwitcher.FromAssembly(typeof(DispatchBenchmarks).Assembly).Run(args, config);
    return summaries.Any(summary => summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success)) ? 1 : 0;
}

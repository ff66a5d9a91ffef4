using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AgentApi.Benchmarks;

/// <summary>Summary column with the throughput in items per second, computed as 1 / Mean (Mean is per item).</summary>
internal sealed class ItemsPerSecondColumn : IColumn
{
    public string Id => nameof(ItemsPerSecondColumn);

    public string ColumnName => "Items/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Work items completed per second: 1 s divided by Mean";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        // ResultStatistics are in nanoseconds per operation, already divided by OperationsPerInvoke.
        var meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return meanNanoseconds is > 0
            ? (1e9 / meanNanoseconds.Value).ToString("N0", style.CultureInfo ?? CultureInfo.InvariantCulture)
            : "-";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

using System.Diagnostics;
using System.Runtime;

namespace AgentApi.HubBenchmark;

/// <summary>The CPU, memory and garbage collection of this process over a measured phase.</summary>
internal sealed record ResourceUsage(
    double CpuSeconds,
    double WallSeconds,
    double PeakWorkingSetMiB,
    double AllocatedMiB,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    long MethodsCompiled,
    double JitSeconds)
{
    /// <summary>CPU time divided by wall time: 1.0 is one core busy for the whole phase.</summary>
    public double Cores => WallSeconds > 0 ? CpuSeconds / WallSeconds : 0;

    /// <summary>Takes the readings that <see cref="Since"/> subtracts.</summary>
    public static Snapshot Take()
    {
        using var process = Process.GetCurrentProcess();
        return new Snapshot(
            Stopwatch.GetTimestamp(),
            process.TotalProcessorTime,
            GC.GetTotalAllocatedBytes(),
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            JitInfo.GetCompiledMethodCount(),
            JitInfo.GetCompilationTime());
    }

    /// <summary>
    /// Returns what the process used since <paramref name="start"/>. The peak working set is the
    /// kernel's high-water mark for the whole life of the process, start-up included.
    /// </summary>
    public static ResourceUsage Since(Snapshot start)
    {
        using var process = Process.GetCurrentProcess();
        return new ResourceUsage(
            (process.TotalProcessorTime - start.CpuTime).TotalSeconds,
            Stopwatch.GetElapsedTime(start.Timestamp).TotalSeconds,
            process.PeakWorkingSet64 / 1024.0 / 1024.0,
            (GC.GetTotalAllocatedBytes() - start.AllocatedBytes) / 1024.0 / 1024.0,
            GC.CollectionCount(0) - start.Gen0,
            GC.CollectionCount(1) - start.Gen1,
            GC.CollectionCount(2) - start.Gen2,
            JitInfo.GetCompiledMethodCount() - start.MethodsCompiled,
            (JitInfo.GetCompilationTime() - start.JitTime).TotalSeconds);
    }

    /// <summary>Readings at the start of a phase.</summary>
    internal sealed record Snapshot(
        long Timestamp,
        TimeSpan CpuTime,
        long AllocatedBytes,
        int Gen0,
        int Gen1,
        int Gen2,
        long MethodsCompiled,
        TimeSpan JitTime);
}

namespace AgentApi.Lanes;

/// <summary>
/// The millisecond clock that dates waiting work for wait times, ageing and the long-wait log.
/// With <see cref="TimeProvider.System"/> it reads <see cref="Environment.TickCount64"/>, the
/// operating system's coarse monotonic clock. Its resolution is the kernel tick (4 ms on the
/// Linux machine the benchmarks ran on, 1 to 10 ms on other Linux kernels, about 15.6 ms on
/// Windows), and a read costs a few nanoseconds. A <see cref="System.Diagnostics.Stopwatch"/>
/// read costs 20 to 75 ns on that virtual machine, and the dispatcher needs two per item.
/// Any other provider, such as a test's fake clock, is read through its timestamp.
/// </summary>
internal readonly struct LaneClock
{
    private readonly TimeProvider? _provider;

    public LaneClock(TimeProvider timeProvider)
    {
        if (timeProvider != TimeProvider.System)
        {
            _provider = timeProvider;
        }
    }

    /// <summary>Milliseconds since an arbitrary fixed point; only differences between two readings mean anything.</summary>
    public long NowMilliseconds => _provider is null ? Environment.TickCount64 : ToMilliseconds(_provider);

    /// <summary>
    /// Converts in 128-bit integers, because a double loses the last digits of a large timestamp
    /// and can round a reading up into the next millisecond.
    /// </summary>
    private static long ToMilliseconds(TimeProvider provider) =>
        (long)((Int128)provider.GetTimestamp() * 1000 / provider.TimestampFrequency);
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AgentApi.Lanes;

/// <summary>
/// The state of one runner loop: the item it runs and what it counted. Only the runner's own
/// thread writes the counters, so the runner counts and takes plain items without the lane's
/// lock. Readers under the lock add the counters of the lane's registered runners to the lane's
/// own totals, and a runner that leaves folds its counters into those totals under the lock.
/// </summary>
internal sealed class LaneRunner
{
    /// <summary>How many wait times a runner keeps before it adds them to its lane's recent waits.</summary>
    public const int BufferedWaitCount = 16;

    private RunnerFields _fields;

    /// <summary>The item the runner runs, or null. Read by other threads.</summary>
    public LaneWorkItem? Current => Volatile.Read(ref _fields.Current);

    public long Started => Volatile.Read(ref _fields.Started);

    public long Completed => Volatile.Read(ref _fields.Completed);

    public long Failed => Volatile.Read(ref _fields.Failed);

    /// <summary>True while the runner is in its lane's list of runners. Under the lane's lock.</summary>
    public bool Registered { get; set; }

    public LaneRunner? Next { get; set; }

    public LaneRunner? Previous { get; set; }

    public void SetCurrent(LaneWorkItem? item) => Volatile.Write(ref _fields.Current, item);

    public void CountStarted() => Volatile.Write(ref _fields.Started, _fields.Started + 1);

    public void CountFinished(bool succeeded)
    {
        if (succeeded)
        {
            Volatile.Write(ref _fields.Completed, _fields.Completed + 1);
        }
        else
        {
            Volatile.Write(ref _fields.Failed, _fields.Failed + 1);
        }
    }

    /// <summary>Buffers a wait time and returns true when the buffer is full and needs a flush.</summary>
    public bool BufferWait(double waitMs)
    {
        _fields.Waits[_fields.BufferedWaits] = waitMs;
        return ++_fields.BufferedWaits == BufferedWaitCount;
    }

    /// <summary>Hands the buffered wait times to <paramref name="lane"/> and empties the buffer. Under the lane's lock.</summary>
    public void FlushWaits(Lane lane)
    {
        for (var i = 0; i < _fields.BufferedWaits; i++)
        {
            lane.RecordWait(_fields.Waits[i]);
        }

        _fields.BufferedWaits = 0;
    }

    /// <summary>Returns the counters and resets them, for a runner that leaves its lane. Under the lane's lock.</summary>
    public (long Started, long Completed, long Failed) TakeCounts()
    {
        var counts = (_fields.Started, _fields.Completed, _fields.Failed);
        Volatile.Write(ref _fields.Started, 0);
        Volatile.Write(ref _fields.Completed, 0);
        Volatile.Write(ref _fields.Failed, 0);
        return counts;
    }

    /// <summary>
    /// The fields that the runner writes for every item, with 128 bytes of space on each side.
    /// The allocator often places a lane's runners next to each other, and a cache line shared
    /// by two runners on two cores would move between them every item. 128 bytes rather than
    /// one 64-byte line, because processors may prefetch lines in adjacent pairs.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = FieldsEnd + Padding)]
    private struct RunnerFields
    {
        private const int Padding = 128;
        private const int FieldsEnd = Padding + 40 + (BufferedWaitCount * sizeof(double));

        [FieldOffset(Padding)]
        public LaneWorkItem? Current;

        [FieldOffset(Padding + 8)]
        public long Started;

        [FieldOffset(Padding + 16)]
        public long Completed;

        [FieldOffset(Padding + 24)]
        public long Failed;

        [FieldOffset(Padding + 32)]
        public int BufferedWaits;

        [FieldOffset(Padding + 40)]
        public WaitBuffer Waits;
    }

    [InlineArray(BufferedWaitCount)]
    private struct WaitBuffer
    {
        private double _first;
    }
}

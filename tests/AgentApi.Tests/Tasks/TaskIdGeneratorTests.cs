using AgentApi.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace AgentApi.Tests.Tasks;

public sealed class TaskIdGeneratorTests
{
    [Fact]
    public void Next_SameMillisecond_IdsGrowAsTextAndAsBytes()
    {
        var generator = new TaskIdGenerator(new FakeTimeProvider(DateTimeOffset.Parse("2026-12-04T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));

        var ids = Enumerable.Range(0, 10_000).Select(_ => generator.Next()).ToList();

        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(string.CompareOrdinal(ids[i - 1].ToString(), ids[i].ToString()) < 0, $"id {i} does not sort after id {i - 1} as text");
            Assert.True(ids[i - 1].ToByteArray(bigEndian: true).AsSpan().SequenceCompareTo(ids[i].ToByteArray(bigEndian: true)) < 0);
            Assert.Equal(7, ids[i].Version);
            Assert.Equal(0b10, ids[i].Variant >> 2);
        }
    }

    [Fact]
    public void Next_ClockGoesBack_IdsStillGrow()
    {
        var start = DateTimeOffset.Parse("2026-12-04T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var generator = new TaskIdGenerator(new BackwardsClock(new FakeTimeProvider(start), TimeSpan.FromSeconds(5)));

        var first = generator.Next();
        var second = generator.Next();

        Assert.True(string.CompareOrdinal(first.ToString(), second.ToString()) < 0);
    }

    /// <summary>Answers its first call with a time, and every later call with an earlier one.</summary>
    private sealed class BackwardsClock(FakeTimeProvider inner, TimeSpan step) : TimeProvider
    {
        private int _calls;

        public override DateTimeOffset GetUtcNow() =>
            _calls++ == 0 ? inner.GetUtcNow() + step : inner.GetUtcNow();
    }
}

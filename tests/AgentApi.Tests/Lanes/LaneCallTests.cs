using AgentApi.Lanes;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Lanes;

public sealed class LaneCallTests : IAsyncLifetime
{
    private const string Lane = "work";
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);

    private readonly LaneDispatcher _dispatcher = new(
        new Dictionary<string, int>(StringComparer.Ordinal) { [Lane] = 1 },
        new LaneDispatcherOptions { ShutdownGracePeriod = TimeSpan.FromSeconds(5) },
        TimeProvider.System,
        NullLogger<LaneDispatcher>.Instance);

    private readonly TaskCompletionSource<string> _blockerGate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _blockerGate.TrySetResult("released");
        await _dispatcher.StopAsync().WaitAsync(TestTimeout);
        await _dispatcher.DisposeAsync();
    }

    [Fact]
    public async Task Result_CallRuns_ReturnsValue()
    {
        var call = new LaneCall<string>(Lane, "call", LanePriority.Default, _ => Task.FromResult("done"), CancellationToken.None);

        Assert.True(_dispatcher.Schedule(call));

        Assert.Equal("done", await call.Result.WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task Result_HandedBackAtShutdown_ThrowsInstanceStopping()
    {
        var waiting = await ScheduleBehindBlockerAsync(CancellationToken.None);

        var stop = _dispatcher.StopAsync();

        var exception = await Assert.ThrowsAsync<InstanceStoppingException>(() => waiting.Result.WaitAsync(TestTimeout));
        Assert.Contains("'waiting'", exception.Message, StringComparison.Ordinal);
        _blockerGate.SetResult("released");
        await stop.WaitAsync(TestTimeout);
    }

    [Fact]
    public async Task Result_CancelledWhileWaiting_IsCancelled()
    {
        using var cancellation = new CancellationTokenSource();
        var waiting = await ScheduleBehindBlockerAsync(cancellation.Token);

        await cancellation.CancelAsync();

        var exception = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.Result.WaitAsync(TestTimeout));
        Assert.IsNotType<InstanceStoppingException>(exception);
        Assert.True(waiting.Result.IsCanceled);
    }

    /// <summary>Fills the lane's one slot with a call that waits for the gate, then schedules a call that has to wait.</summary>
    private async Task<LaneCall<string>> ScheduleBehindBlockerAsync(CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = new LaneCall<string>(Lane, "blocker", LanePriority.Default, _ =>
        {
            started.TrySetResult();
            return _blockerGate.Task;
        }, CancellationToken.None);
        Assert.True(_dispatcher.Schedule(blocker));
        await started.Task.WaitAsync(TestTimeout);

        var waiting = new LaneCall<string>(Lane, "waiting", LanePriority.Default, _ => Task.FromResult("ran"), cancellationToken);
        Assert.True(_dispatcher.Schedule(waiting));
        return waiting;
    }
}

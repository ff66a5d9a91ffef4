using System.Diagnostics;
using AgentApi.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Storage;

public sealed class HostedStopTests
{
    [Fact]
    public async Task StopWithinTimeout_ExpiredToken_ReturnsWithoutThrowing()
    {
        var neverStops = new TaskCompletionSource();
        using var expired = new CancellationTokenSource();
        await expired.CancelAsync();

        var stop = HostedStop.StopWithinTimeoutAsync(_ => neverStops.Task, "test service", NullLogger.Instance, expired.Token);

        var finished = await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(5)));
        Assert.Same(stop, finished);
        Assert.True(stop.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task StopWithinTimeout_BlockingStop_DoesNotBlockCaller()
    {
        // A stop that blocks its thread, as a cancellation callback of Npgsql does against a paused server.
        using var release = new ManualResetEventSlim();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();

        await HostedStop.StopWithinTimeoutAsync(_ =>
        {
            release.Wait(TimeSpan.FromSeconds(10));
            return Task.CompletedTask;
        }, "test service", NullLogger.Instance, timeout.Token);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"The stop took {watch.Elapsed}.");
        release.Set();
    }

    [Fact]
    public void CancelInBackground_BlockingCallback_ReturnsAtOnce()
    {
        using var release = new ManualResetEventSlim();
        using var source = new CancellationTokenSource();
        using var callbackRan = new ManualResetEventSlim();
        source.Token.Register(() =>
        {
            callbackRan.Set();
            release.Wait(TimeSpan.FromSeconds(10));
        });
        var watch = Stopwatch.StartNew();

        HostedStop.CancelInBackground(source);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"The cancel took {watch.Elapsed}.");
        Assert.True(callbackRan.Wait(TimeSpan.FromSeconds(5)), "The cancellation callback never ran.");
        release.Set();
    }
}

using AgentApi.Storage;

namespace AgentApi.Tests.Storage;

public sealed class BackgroundCancellationTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task HostCancel_BlockingCallback_ReturnsAtOnce()
    {
        using var host = new CancellationTokenSource();
        using var stopping = new BackgroundCancellation(host.Token);
        using var release = new ManualResetEventSlim();
        var callbackRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Blocks as Npgsql's cancel request for a query against a hung server does.
        stopping.Token.Register(() =>
        {
            callbackRan.TrySetResult();
            release.Wait();
        });

        try
        {
            await Task.Run(host.Cancel).WaitAsync(TestTimeout);

            Assert.True(stopping.Token.IsCancellationRequested);
            await callbackRan.Task.WaitAsync(TestTimeout);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public void Create_HostAlreadyCancelled_TokenCancelled()
    {
        using var host = new CancellationTokenSource();
        host.Cancel();

        using var stopping = new BackgroundCancellation(host.Token);

        Assert.True(stopping.Token.IsCancellationRequested);
    }

    [Fact]
    public void Dispose_BeforeHostCancel_TokenStaysUncancelled()
    {
        using var host = new CancellationTokenSource();
        var stopping = new BackgroundCancellation(host.Token);

        stopping.Dispose();
        host.Cancel();

        Assert.False(stopping.Token.IsCancellationRequested);
    }
}

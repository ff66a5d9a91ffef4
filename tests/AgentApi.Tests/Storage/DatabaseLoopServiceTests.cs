using AgentApi.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentApi.Tests.Storage;

public sealed class DatabaseLoopServiceTests
{
    [Fact]
    public async Task Dispose_AfterTimedOutStop_CancelsOnPool()
    {
        // The stop also cancels on a pool thread. A disposal that cancels inline runs the blocking
        // callback on the caller only in rounds where it wins that race, so the test runs twenty.
        for (var round = 0; round < 20; round++)
        {
            using var release = new ManualResetEventSlim();
            var service = new BlockingLoop(release);
            await service.StartedAsync();
            using var expired = new CancellationTokenSource();
            await expired.CancelAsync();

            await service.StopAsync(expired.Token);
            var caller = Environment.CurrentManagedThreadId;
            service.Dispose();

            Assert.True(service.CallbackRan.Wait(TimeSpan.FromSeconds(5)), "The loop's token was never cancelled.");
            Assert.NotEqual(caller, service.CallbackThread);
            release.Set();
        }
    }

    [Fact]
    public async Task Dispose_WithoutStop_CancelsBeforeReturning()
    {
        using var release = new ManualResetEventSlim(initialState: true);
        var service = new BlockingLoop(release);
        await service.StartedAsync();

        service.Dispose();

        Assert.True(service.CallbackRan.IsSet, "The disposal returned before the loop's token was cancelled.");
    }

    /// <summary>A loop whose cancellation callback blocks until released, as Npgsql's cancel request does against a paused server.</summary>
    private sealed class BlockingLoop(ManualResetEventSlim release) : DatabaseLoopService
    {
        public ManualResetEventSlim CallbackRan { get; } = new();

        public int CallbackThread { get; private set; }

        private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Starts the service and waits until its loop listens to its token, which .NET starts on a pool thread.</summary>
        public async Task StartedAsync()
        {
            await StartAsync(CancellationToken.None);
            await _registered.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }

        protected override ILogger StopLogger => NullLogger.Instance;

        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            stoppingToken.Register(() =>
            {
                CallbackThread = Environment.CurrentManagedThreadId;
                CallbackRan.Set();
                release.Wait(TimeSpan.FromSeconds(2));
            });
            _registered.SetResult();
            return Task.Delay(Timeout.Infinite, stoppingToken);
        }
    }
}

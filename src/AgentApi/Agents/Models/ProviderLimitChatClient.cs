using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Models;

/// <summary>
/// Holds every call to one model to that model's own limits: requests in flight at once and
/// requests started per minute. The limits are shared by every lane and task, so a burst of
/// subagents waits here instead of being rejected by the provider.
/// </summary>
public sealed class ProviderLimitChatClient : DelegatingChatClient
{
    private readonly RateLimiter? _concurrency;
    private readonly RateLimiter? _perMinute;

    public ProviderLimitChatClient(IChatClient inner, int maxConcurrentRequests, int requestsPerMinute)
        : base(inner)
    {
        if (maxConcurrentRequests > 0)
        {
            _concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = maxConcurrentRequests,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
        }

        if (requestsPerMinute > 0)
        {
            // NOTE: System.Threading.RateLimiting replenishes on its own timer, not through a
            // TimeProvider, so tests of the per-minute limit would have to run in real time.
            _perMinute = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = requestsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
        }
    }

    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var leases = await AcquireAsync(cancellationToken);
        return await base.GetResponseAsync(messages, options, cancellationToken);
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var leases = await AcquireAsync(cancellationToken);
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            yield return update;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _concurrency?.Dispose();
            _perMinute?.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task<Leases> AcquireAsync(CancellationToken cancellationToken)
    {
        var perMinute = _perMinute is null ? null : await _perMinute.AcquireAsync(1, cancellationToken);
        var concurrency = _concurrency is null ? null : await _concurrency.AcquireAsync(1, cancellationToken);
        return new Leases(perMinute, concurrency);
    }

    private readonly struct Leases(RateLimitLease? perMinute, RateLimitLease? concurrency) : IDisposable
    {
        public void Dispose()
        {
            concurrency?.Dispose();
            perMinute?.Dispose();
        }
    }
}

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
    private readonly string _modelName;
    private readonly RateLimiter? _concurrency;
    private readonly RateLimiter? _perMinute;

    public ProviderLimitChatClient(IChatClient inner, string modelName, int maxConcurrentRequests, int requestsPerMinute)
        : base(inner)
    {
        _modelName = modelName;
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
        using var leases = await AcquireAsync(options, cancellationToken);
        return await base.GetResponseAsync(messages, options, cancellationToken);
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var leases = await AcquireAsync(options, cancellationToken);
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

    private async Task<Leases> AcquireAsync(ChatOptions? options, CancellationToken cancellationToken)
    {
        // Tried without waiting first, so the caller hears of a wait only when there is one.
        var perMinute = _perMinute?.AttemptAcquire();
        var concurrency = perMinute is null or { IsAcquired: true } ? _concurrency?.AttemptAcquire() : null;
        if (perMinute is null or { IsAcquired: true } && concurrency is null or { IsAcquired: true })
        {
            return new Leases(perMinute, concurrency);
        }

        var observer = options?.AdditionalProperties?.TryGetValue(IRateLimitObserver.OptionsKey, out var value) == true
            ? value as IRateLimitObserver
            : null;
        observer?.OnWaiting(_modelName);
        try
        {
            if (perMinute is { IsAcquired: false })
            {
                perMinute.Dispose();
                perMinute = await _perMinute!.AcquireAsync(1, cancellationToken);
            }

            if (concurrency is null or { IsAcquired: false } && _concurrency is not null)
            {
                concurrency?.Dispose();
                concurrency = await _concurrency.AcquireAsync(1, cancellationToken);
            }

            return new Leases(perMinute, concurrency);
        }
        catch
        {
            perMinute?.Dispose();
            concurrency?.Dispose();
            throw;
        }
        finally
        {
            observer?.OnPermitted(_modelName);
        }
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

using System.Net.Http.Headers;

namespace AgentApi.Agents.Models;

/// <summary>
/// Carries a provider's <c>Retry-After</c> from the HTTP layer to the retry policy for clients
/// whose exceptions do not expose response headers (Anthropic's). The caller opens a scope around
/// its attempts; <see cref="Handler"/> records the header of every failed response into it.
/// </summary>
public static class RetryAfterCapture
{
    private static readonly AsyncLocal<Box?> Current = new();

    /// <summary>Starts capturing for the calls made in this flow and below it.</summary>
    public static Box Begin()
    {
        var box = new Box();
        Current.Value = box;
        return box;
    }

    /// <summary>The delay asked for by the most recent failed response of a scope.</summary>
    public sealed class Box
    {
        private long _ticks = -1;

        /// <summary>Returns the captured delay once and clears it.</summary>
        public TimeSpan? Take()
        {
            var ticks = Interlocked.Exchange(ref _ticks, -1);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }

        internal void Set(TimeSpan delay) => Interlocked.Exchange(ref _ticks, Math.Max(0, delay.Ticks));
    }

    /// <summary>Records the <c>Retry-After</c> of error responses into the current scope.</summary>
    public sealed class Handler(TimeProvider timeProvider) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode && Current.Value is { } box && ReadDelay(response.Headers.RetryAfter) is { } delay)
            {
                box.Set(delay);
            }

            return response;
        }

        private TimeSpan? ReadDelay(RetryConditionHeaderValue? retryAfter) => retryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - timeProvider.GetUtcNow(),
            _ => null,
        };
    }
}

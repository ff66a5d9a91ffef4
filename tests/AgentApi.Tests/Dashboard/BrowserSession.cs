using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace AgentApi.Tests.Dashboard;

/// <summary>A signed-in browser context with its first page, recording every script error and failed response of its pages.</summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _scriptErrors = new();

    public BrowserSession(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        context.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _scriptErrors.Enqueue($"console error on {message.Page?.Url}: {message.Text}");
            }
        };
        context.WebError += (_, error) => _scriptErrors.Enqueue($"uncaught error on {error.Page?.Url}: {error.Error}");

        // The console names no address for a failed load, so failed responses are recorded with theirs.
        context.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                _scriptErrors.Enqueue($"HTTP {response.Status} for {response.Request.Method} {response.Url}");
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>Console errors, uncaught exceptions and 4xx or 5xx responses of the context's pages so far, oldest first.</summary>
    public IReadOnlyList<string> ScriptErrors => [.. _scriptErrors];

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}

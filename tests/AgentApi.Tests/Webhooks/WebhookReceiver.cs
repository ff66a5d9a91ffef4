using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Webhooks;

/// <summary>A webhook receiver on a loopback port that records each delivery and responds with scripted status codes (200 once the script is used up).</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _statusCodes = new();
    private readonly ConcurrentQueue<ReceivedDelivery> _received = new();

    private WebhookReceiver(WebApplication app)
    {
        _app = app;
        app.MapPost("/hook", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var headers = context.Request.Headers.ToDictionary(header => header.Key, header => header.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            _received.Enqueue(new ReceivedDelivery(body.ToArray(), headers, TimeProvider.System.GetUtcNow()));
            context.Response.StatusCode = _statusCodes.TryDequeue(out var status) ? status : StatusCodes.Status200OK;
        });
    }

    public string Url => _app.Urls.First() + "/hook";

    public IReadOnlyList<ReceivedDelivery> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync(params int[] statusCodes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var receiver = new WebhookReceiver(builder.Build());
        foreach (var statusCode in statusCodes)
        {
            receiver._statusCodes.Enqueue(statusCode);
        }

        await receiver._app.StartAsync();
        return receiver;
    }

    public async Task<IReadOnlyList<ReceivedDelivery>> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (_received.Count < count)
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"Expected {count} webhook deliveries, got {_received.Count}.");
            }

            await Task.Delay(20);
        }

        return Received;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

internal sealed record ReceivedDelivery(byte[] Body, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ReceivedAt);

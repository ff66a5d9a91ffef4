using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using AgentApi.Tasks;
using Hangfire;
using Microsoft.Extensions.Options;

namespace AgentApi.Webhooks;

/// <summary>
/// The Hangfire job of one webhook delivery attempt: POSTs the finished task, as
/// <c>GET /api/tasks/{id}</c> returns it, to the task's <c>webhookUrl</c>, signed, and records the
/// attempt as a task event. A failed attempt schedules the next one with exponential backoff; the
/// task's outcome never changes.
/// </summary>
public sealed class WebhookDeliveryJob(
    TaskStore store,
    IHttpClientFactory httpClientFactory,
    IBackgroundJobClient jobs,
    IOptions<WebhookOptions> options,
    IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> jsonOptions,
    TimeProvider timeProvider,
    ILogger<WebhookDeliveryJob> logger)
{
    public const string HttpClientName = "webhooks";
    public const string EventName = "task.finished";

    /// <summary>Sends attempt <paramref name="attempt"/>; Hangfire's own retries are off, since this job plans its own.</summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task DeliverAsync(Guid taskId, int attempt, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (await store.FindAsync(taskId, cancellationToken) is not { WebhookUrl: { } url } task || !task.IsFinished)
        {
            return;
        }

        var deliveryId = DeliveryId(taskId);
        if (settings.Secret is not { Length: > 0 } secret)
        {
            await RecordAsync(taskId, attempt, TaskEventTypes.WebhookFailed, new
            {
                deliveryId, attempt, statusCode = (int?)null, error = "Webhooks:Secret is not set, so the delivery cannot be signed.", retryInMs = (long?)null,
            }, cancellationToken);
            return;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(await store.ToResponseAsync(task, cancellationToken), jsonOptions.Value.SerializerOptions);
        var startedAt = timeProvider.GetTimestamp();
        var (statusCode, error) = await SendAsync(url, body, secret, deliveryId, attempt, settings, cancellationToken);
        var durationMs = (long)timeProvider.GetElapsedTime(startedAt).TotalMilliseconds;

        if (error is null)
        {
            WebhookLog.Delivered(logger, taskId, attempt, statusCode!.Value, durationMs);
            await RecordAsync(taskId, attempt, TaskEventTypes.WebhookDelivered, new { deliveryId, attempt, statusCode, durationMs }, cancellationToken);
            return;
        }

        long? retryInMs = null;
        if (attempt < settings.MaxAttempts)
        {
            var delay = RetryDelay(attempt, settings);
            retryInMs = (long)delay.TotalMilliseconds;
            jobs.Schedule<WebhookDeliveryJob>(job => job.DeliverAsync(taskId, attempt + 1, CancellationToken.None), delay);
        }

        WebhookLog.Failed(logger, taskId, attempt, settings.MaxAttempts, error, retryInMs);
        await RecordAsync(taskId, attempt, TaskEventTypes.WebhookFailed, new { deliveryId, attempt, statusCode, error, retryInMs, durationMs }, cancellationToken);
    }

    /// <summary>The id of a task's delivery; every attempt carries the same one, so receivers can ignore repeats.</summary>
    public static string DeliveryId(Guid taskId) => "whd_" + taskId.ToString("N");

    internal static TimeSpan RetryDelay(int attempt, WebhookOptions settings)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 30));
        return TimeSpan.FromTicks((long)Math.Min(settings.RetryBaseDelay.Ticks * factor, settings.RetryMaxDelay.Ticks));
    }

    private async Task<(int? StatusCode, string? Error)> SendAsync(
        string url,
        byte[] body,
        string secret,
        string deliveryId,
        int attempt,
        WebhookOptions settings,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Compute(body, secret));
        request.Headers.Add(WebhookSignature.DeliveryHeader, deliveryId);
        request.Headers.Add(WebhookSignature.AttemptHeader, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.EventHeader, EventName);

        using var timeout = new CancellationTokenSource(settings.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await httpClientFactory.CreateClient(HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var statusCode = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? (statusCode, null)
                : (statusCode, $"the receiver responded with {statusCode} {response.ReasonPhrase}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return (null, $"no answer within {settings.Timeout.TotalSeconds:0.###} s (Webhooks:Timeout)");
        }
        catch (HttpRequestException exception)
        {
            return (null, exception.Message);
        }
    }

    private async Task RecordAsync(Guid taskId, int attempt, string type, object data, CancellationToken cancellationToken)
    {
        try
        {
            await store.UpdateAsync(taskId, (_, events) =>
            {
                events.Add(type, data);
                return true;
            }, cancellationToken);
        }
        catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
        {
            WebhookLog.RecordFailed(logger, taskId, attempt, exception);
        }
    }
}

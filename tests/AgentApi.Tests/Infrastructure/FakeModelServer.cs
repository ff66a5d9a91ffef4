using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Infrastructure;

/// <summary>One model request as the fake model server received it: OpenAI chat completions or Anthropic messages.</summary>
/// <param name="Model">The request's <c>model</c>.</param>
/// <param name="Stream">The request's <c>stream</c>, false when absent.</param>
/// <param name="Authorization">
/// The Authorization header value. On <c>/v1/messages</c> without that header it is the
/// <c>x-api-key</c> header value, which some Anthropic clients send in its place. Null when both are absent.
/// </param>
/// <param name="LastUserMessage">The text of the last message with role <c>user</c>, empty when there is none.</param>
/// <param name="Body">The raw request body.</param>
public sealed record RecordedRequest(string Model, bool Stream, string? Authorization, string LastUserMessage, string Body)
{
    /// <summary>The request path: <c>/v1/chat/completions</c> or <c>/v1/messages</c>.</summary>
    public string Path { get; init; } = "";
}

/// <summary>
/// In-process fake of the OpenAI chat completions API (<c>POST /v1/chat/completions</c>) and of
/// Anthropic's Messages API (<c>POST /v1/messages</c>, non-streaming only) over real HTTP on 127.0.0.1.
/// Each request to either endpoint consumes the next scripted behaviour from one shared FIFO queue.
/// When none is queued, the server replies with <c>"echo: "</c> followed by the last user message.
/// </summary>
/// <remarks>
/// Token counts in <c>usage</c> are whitespace-separated word counts (see
/// <see cref="CountTokens"/>), not the output of a real tokenizer.
/// </remarks>
public sealed class FakeModelServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<Behaviour> behaviours = new();
    private readonly List<RecordedRequest> requests = [];
    private readonly Lock requestsLock = new();

    // Cancelled on dispose, so that hanging or delayed requests end and Kestrel can stop.
    private readonly CancellationTokenSource stopping = new();
    private int activeRequests;
    private int maxConcurrentRequests;
    private int completionCount;

    private FakeModelServer(WebApplication app)
    {
        this.app = app;
        BaseUrl = "";
        RootUrl = "";
    }

    /// <summary>Base URL of the API, <c>http://127.0.0.1:{port}/v1</c>, to use as the OpenAI client endpoint.</summary>
    public string BaseUrl { get; private set; }

    /// <summary>
    /// The server's root URL, <c>http://127.0.0.1:{port}</c> with no <c>/v1</c>, to use as the Anthropic
    /// client's <c>BaseUrl</c>: that client appends <c>/v1/messages</c> itself.
    /// </summary>
    public string RootUrl { get; private set; }

    /// <summary>Snapshot of the requests received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (requestsLock)
            {
                return requests.ToArray();
            }
        }
    }

    /// <summary>Number of model requests, on either endpoint, in progress now.</summary>
    public int ActiveRequests => Volatile.Read(ref activeRequests);

    /// <summary>Peak of <see cref="ActiveRequests"/> since the server started.</summary>
    public int MaxConcurrentRequests => Volatile.Read(ref maxConcurrentRequests);

    /// <summary>Starts a server on a free port of 127.0.0.1.</summary>
    public static async Task<FakeModelServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();

        // The test output folder contains the service's appsettings.json, and its Kestrel
        // endpoints or logging settings must not apply to the fake.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(5));

        var app = builder.Build();
        var server = new FakeModelServer(app);
        app.MapPost("/v1/chat/completions", server.HandleChatCompletionsAsync);
        app.MapPost("/v1/messages", server.HandleMessagesAsync);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features
            .GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.RootUrl = address.TrimEnd('/');
        server.BaseUrl = server.RootUrl + "/v1";
        return server;
    }

    /// <summary>Counts tokens the way this server reports them in <c>usage</c>: one per whitespace-separated word.</summary>
    public static int CountTokens(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>Queues a reply with the given assistant text.</summary>
    public void EnqueueReply(string text) => behaviours.Enqueue(new Behaviour.Reply(text, TimeSpan.Zero));

    /// <summary>Queues a reply that is sent after <paramref name="delay"/>, unless the client aborts first.</summary>
    public void EnqueueDelayedReply(string text, TimeSpan delay) => behaviours.Enqueue(new Behaviour.Reply(text, delay));

    /// <summary>
    /// Queues an error response with the given status code, in the error format of the endpoint
    /// that consumes it. When <paramref name="retryAfter"/> is given, the response carries a
    /// Retry-After header in whole seconds, rounded up.
    /// </summary>
    public void EnqueueError(int statusCode, TimeSpan? retryAfter = null) =>
        behaviours.Enqueue(new Behaviour.Error(statusCode, retryAfter));

    /// <summary>Queues a request that never gets a response, until the client aborts it or the server is disposed.</summary>
    public void EnqueueHang() => behaviours.Enqueue(new Behaviour.Hang());

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await app.StopAsync();
        await app.DisposeAsync();
        stopping.Dispose();
    }

    private Task HandleChatCompletionsAsync(HttpContext context) => TrackAsync(context, HandleAsync);

    private Task HandleMessagesAsync(HttpContext context) => TrackAsync(context, HandleAnthropicAsync);

    /// <summary>Runs one request's handler while it counts in <see cref="ActiveRequests"/>, and ends it when the client aborts.</summary>
    private async Task TrackAsync(HttpContext context, Func<HttpContext, CancellationToken, Task> handle)
    {
        var active = Interlocked.Increment(ref activeRequests);
        UpdateMaxConcurrentRequests(active);
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token);
        try
        {
            await handle(context, aborted.Token);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away or the server is stopping, so there is no one to reply to.
        }
        finally
        {
            Interlocked.Decrement(ref activeRequests);
        }
    }

    private async Task HandleAsync(HttpContext context, CancellationToken ct)
    {
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(ct);
        }

        ChatRequest request;
        try
        {
            request = ChatRequest.Parse(body);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"Invalid chat completions request: {exception.Message}", ct);
            return;
        }

        Record(new RecordedRequest(
            request.Model,
            request.Stream,
            context.Request.Headers.Authorization.FirstOrDefault(),
            request.LastUserMessage,
            body) { Path = context.Request.Path });

        var behaviour = NextBehaviour(request.LastUserMessage);

        switch (behaviour)
        {
            case Behaviour.Reply reply:
                if (reply.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(reply.Delay, ct);
                }

                if (request.Stream)
                {
                    await WriteStreamingCompletionAsync(context, request, reply.Text, ct);
                }
                else
                {
                    await WriteCompletionAsync(context, request, reply.Text, ct);
                }

                break;

            case Behaviour.Error error:
                SetRetryAfter(context, error.RetryAfter);
                await WriteErrorAsync(context, error.StatusCode, $"Scripted error with status code {error.StatusCode}.", ct);
                break;

            case Behaviour.Hang:
                await Task.Delay(Timeout.Infinite, ct);
                break;
        }
    }

    /// <summary>
    /// Handles <c>POST /v1/messages</c> in Anthropic's wire format. A request with <c>stream: true</c>
    /// is recorded and rejected with 400, and it consumes no scripted behaviour.
    /// </summary>
    private async Task HandleAnthropicAsync(HttpContext context, CancellationToken ct)
    {
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(ct);
        }

        MessagesRequest request;
        try
        {
            request = MessagesRequest.Parse(body);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            await WriteAnthropicErrorAsync(context, StatusCodes.Status400BadRequest, $"Invalid messages request: {exception.Message}", ct);
            return;
        }

        var authorization = context.Request.Headers.Authorization.FirstOrDefault()
            ?? context.Request.Headers["x-api-key"].FirstOrDefault();
        Record(new RecordedRequest(request.Model, request.Stream, authorization, request.LastUserMessage, body)
        {
            Path = context.Request.Path,
        });

        if (request.Stream)
        {
            await WriteAnthropicErrorAsync(context, StatusCodes.Status400BadRequest,
                "The fake model server does not support streaming on /v1/messages; send \"stream\": false.", ct);
            return;
        }

        switch (NextBehaviour(request.LastUserMessage))
        {
            case Behaviour.Reply reply:
                if (reply.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(reply.Delay, ct);
                }

                await WriteMessageAsync(context, request, reply.Text, ct);
                break;

            case Behaviour.Error error:
                SetRetryAfter(context, error.RetryAfter);
                await WriteAnthropicErrorAsync(context, error.StatusCode, $"Scripted error with status code {error.StatusCode}.", ct);
                break;

            case Behaviour.Hang:
                await Task.Delay(Timeout.Infinite, ct);
                break;
        }
    }

    private void Record(RecordedRequest request)
    {
        lock (requestsLock)
        {
            requests.Add(request);
        }
    }

    private Behaviour NextBehaviour(string lastUserMessage) =>
        behaviours.TryDequeue(out var next)
            ? next
            : new Behaviour.Reply("echo: " + lastUserMessage, TimeSpan.Zero);

    private static void SetRetryAfter(HttpContext context, TimeSpan? retryAfter)
    {
        if (retryAfter is { } value)
        {
            var seconds = (long)Math.Ceiling(value.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Writes a non-streaming Anthropic message with one text block and stop reason <c>end_turn</c>.</summary>
    private async Task WriteMessageAsync(HttpContext context, MessagesRequest request, string text, CancellationToken ct)
    {
        var json = WriteJson(writer =>
        {
            writer.WriteString("id", "msg_fake_" + Interlocked.Increment(ref completionCount).ToString(CultureInfo.InvariantCulture));
            writer.WriteString("type", "message");
            writer.WriteString("role", "assistant");
            writer.WriteString("model", request.Model);
            writer.WriteStartArray("content");
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", text);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteString("stop_reason", "end_turn");
            writer.WriteNull("stop_sequence");
            writer.WriteStartObject("usage");
            writer.WriteNumber("input_tokens", request.PromptTokens);
            writer.WriteNumber("output_tokens", CountTokens(text));
            writer.WriteEndObject();
        });

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    /// <summary>
    /// Writes an error in Anthropic's format, with the error type that docs.claude.com/en/api/errors
    /// lists for the status code. Other 4xx codes get <c>invalid_request_error</c>, as that page allows.
    /// </summary>
    private static async Task WriteAnthropicErrorAsync(HttpContext context, int statusCode, string message, CancellationToken ct)
    {
        var type = statusCode switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status403Forbidden => "permission_error",
            StatusCodes.Status404NotFound => "not_found_error",
            StatusCodes.Status413PayloadTooLarge => "request_too_large",
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            529 => "overloaded_error",
            >= 500 => "api_error",
            _ => "invalid_request_error",
        };

        var json = WriteJson(writer =>
        {
            writer.WriteString("type", "error");
            writer.WriteStartObject("error");
            writer.WriteString("type", type);
            writer.WriteString("message", message);
            writer.WriteEndObject();
        });

        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    private async Task WriteCompletionAsync(HttpContext context, ChatRequest request, string text, CancellationToken ct)
    {
        var completionTokens = CountTokens(text);
        var json = WriteJson(writer =>
        {
            WriteCompletionHeader(writer, request.Model);
            writer.WriteStartArray("choices");
            writer.WriteStartObject();
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("message");
            writer.WriteString("role", "assistant");
            writer.WriteString("content", text);
            writer.WriteNull("refusal");
            writer.WriteEndObject();
            writer.WriteNull("logprobs");
            writer.WriteString("finish_reason", "stop");
            writer.WriteEndObject();
            writer.WriteEndArray();
            WriteUsage(writer, request.PromptTokens, completionTokens);
        });

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    /// <summary>
    /// Writes the text as server-sent events in the OpenAI chunk format: a role chunk,
    /// one content chunk per word (with its trailing whitespace), a chunk with the finish
    /// reason, a usage chunk when <c>stream_options.include_usage</c> is true, then <c>[DONE]</c>.
    /// </summary>
    private async Task WriteStreamingCompletionAsync(HttpContext context, ChatRequest request, string text, CancellationToken ct)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";

        var id = NextCompletionId();
        var created = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var includeUsage = request.IncludeUsage;

        await WriteEventAsync(context, WriteChunk(id, created, request.Model, includeUsage, delta =>
        {
            delta.WriteString("role", "assistant");
            delta.WriteString("content", "");
        }, finishReason: null), ct);

        foreach (var piece in SplitIntoChunks(text))
        {
            await WriteEventAsync(context, WriteChunk(id, created, request.Model, includeUsage, delta =>
                delta.WriteString("content", piece), finishReason: null), ct);
        }

        await WriteEventAsync(context, WriteChunk(id, created, request.Model, includeUsage, _ => { }, finishReason: "stop"), ct);

        if (includeUsage)
        {
            var usageChunk = WriteJson(writer =>
            {
                WriteChunkHeader(writer, id, created, request.Model);
                writer.WriteStartArray("choices");
                writer.WriteEndArray();
                WriteUsage(writer, request.PromptTokens, CountTokens(text));
            });
            await WriteEventAsync(context, usageChunk, ct);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static byte[] WriteChunk(
        string id, long created, string model, bool includeUsage, Action<Utf8JsonWriter> writeDelta, string? finishReason)
    {
        return WriteJson(writer =>
        {
            WriteChunkHeader(writer, id, created, model);
            writer.WriteStartArray("choices");
            writer.WriteStartObject();
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("delta");
            writeDelta(writer);
            writer.WriteEndObject();
            writer.WriteNull("logprobs");
            if (finishReason is null)
            {
                writer.WriteNull("finish_reason");
            }
            else
            {
                writer.WriteString("finish_reason", finishReason);
            }

            writer.WriteEndObject();
            writer.WriteEndArray();

            // With include_usage, OpenAI sends "usage": null on every chunk but the last.
            if (includeUsage)
            {
                writer.WriteNull("usage");
            }
        });
    }

    private static void WriteChunkHeader(Utf8JsonWriter writer, string id, long created, string model)
    {
        writer.WriteString("id", id);
        writer.WriteString("object", "chat.completion.chunk");
        writer.WriteNumber("created", created);
        writer.WriteString("model", model);
        writer.WriteNull("system_fingerprint");
    }

    private void WriteCompletionHeader(Utf8JsonWriter writer, string model)
    {
        writer.WriteString("id", NextCompletionId());
        writer.WriteString("object", "chat.completion");
        writer.WriteNumber("created", TimeProvider.System.GetUtcNow().ToUnixTimeSeconds());
        writer.WriteString("model", model);
        writer.WriteNull("system_fingerprint");
    }

    private static void WriteUsage(Utf8JsonWriter writer, int promptTokens, int completionTokens)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", promptTokens);
        writer.WriteNumber("completion_tokens", completionTokens);
        writer.WriteNumber("total_tokens", promptTokens + completionTokens);
        writer.WriteEndObject();
    }

    private static async Task WriteEventAsync(HttpContext context, byte[] json, CancellationToken ct)
    {
        await context.Response.WriteAsync("data: ", ct);
        await context.Response.Body.WriteAsync(json, ct);
        await context.Response.WriteAsync("\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static async Task WriteErrorAsync(HttpContext context, int statusCode, string message, CancellationToken ct)
    {
        var (type, code) = statusCode switch
        {
            StatusCodes.Status401Unauthorized => ("invalid_request_error", "invalid_api_key"),
            StatusCodes.Status404NotFound => ("invalid_request_error", "model_not_found"),
            StatusCodes.Status429TooManyRequests => ("requests", "rate_limit_exceeded"),
            >= 500 => ("server_error", "server_error"),
            _ => ("invalid_request_error", "invalid_request"),
        };

        var json = WriteJson(writer =>
        {
            writer.WriteStartObject("error");
            writer.WriteString("message", message);
            writer.WriteString("type", type);
            writer.WriteNull("param");
            writer.WriteString("code", code);
            writer.WriteEndObject();
        });

        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    private static byte[] WriteJson(Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Splits text into words, each with its trailing whitespace, so that the pieces concatenate back to the text.</summary>
    private static List<string> SplitIntoChunks(string text)
    {
        var pieces = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            var atBoundary = i == text.Length || (char.IsWhiteSpace(text[i - 1]) && !char.IsWhiteSpace(text[i]));
            if (atBoundary)
            {
                pieces.Add(text[start..i]);
                start = i;
            }
        }

        return pieces;
    }

    private string NextCompletionId() =>
        "chatcmpl-fake-" + Interlocked.Increment(ref completionCount).ToString(CultureInfo.InvariantCulture);

    private void UpdateMaxConcurrentRequests(int active)
    {
        var observed = Volatile.Read(ref maxConcurrentRequests);
        while (active > observed)
        {
            var previous = Interlocked.CompareExchange(ref maxConcurrentRequests, active, observed);
            if (previous == observed)
            {
                return;
            }

            observed = previous;
        }
    }

    private abstract record Behaviour
    {
        public sealed record Reply(string Text, TimeSpan Delay) : Behaviour;

        public sealed record Error(int StatusCode, TimeSpan? RetryAfter) : Behaviour;

        public sealed record Hang : Behaviour;
    }

    /// <summary>The fields of a chat completions request body that the fake reads.</summary>
    private sealed record ChatRequest(string Model, bool Stream, bool IncludeUsage, string LastUserMessage, int PromptTokens)
    {
        public static ChatRequest Parse(string body)
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;

            var model = root.GetProperty("model").GetString() ?? "";
            var stream = root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;
            var includeUsage = root.TryGetProperty("stream_options", out var streamOptions)
                && streamOptions.ValueKind == JsonValueKind.Object
                && streamOptions.TryGetProperty("include_usage", out var includeUsageElement)
                && includeUsageElement.ValueKind == JsonValueKind.True;

            var lastUserMessage = "";
            var promptTokens = 0;
            foreach (var message in root.GetProperty("messages").EnumerateArray())
            {
                var content = message.TryGetProperty("content", out var contentElement) ? ReadContentText(contentElement) : "";
                promptTokens += CountTokens(content);
                if (message.GetProperty("role").GetString() == "user")
                {
                    lastUserMessage = content;
                }
            }

            return new ChatRequest(model, stream, includeUsage, lastUserMessage, promptTokens);
        }

        /// <summary>
        /// Reads message content, which is either a string or an array of content parts, of which only
        /// text parts count. Anthropic's content blocks and <c>system</c> have the same two shapes.
        /// </summary>
        public static string ReadContentText(JsonElement content)
        {
            switch (content.ValueKind)
            {
                case JsonValueKind.String:
                    return content.GetString() ?? "";

                case JsonValueKind.Array:
                    var text = new StringBuilder();
                    foreach (var part in content.EnumerateArray())
                    {
                        if (part.TryGetProperty("type", out var type) && type.GetString() == "text"
                            && part.TryGetProperty("text", out var partText))
                        {
                            text.Append(partText.GetString());
                        }
                    }

                    return text.ToString();

                default:
                    return "";
            }
        }
    }

    /// <summary>The fields of an Anthropic messages request body that the fake reads.</summary>
    /// <remarks>
    /// <c>max_tokens</c> must be present, as the real API requires it. The top-level <c>system</c>
    /// counts towards <see cref="PromptTokens"/> like any message.
    /// </remarks>
    private sealed record MessagesRequest(string Model, bool Stream, string LastUserMessage, int PromptTokens)
    {
        public static MessagesRequest Parse(string body)
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;

            var model = root.GetProperty("model").GetString() ?? "";
            _ = root.GetProperty("max_tokens").GetInt32();
            var stream = root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;

            var promptTokens = root.TryGetProperty("system", out var system) ? CountTokens(ChatRequest.ReadContentText(system)) : 0;
            var lastUserMessage = "";
            foreach (var message in root.GetProperty("messages").EnumerateArray())
            {
                var content = ChatRequest.ReadContentText(message.GetProperty("content"));
                promptTokens += CountTokens(content);
                if (message.GetProperty("role").GetString() == "user")
                {
                    lastUserMessage = content;
                }
            }

            return new MessagesRequest(model, stream, lastUserMessage, promptTokens);
        }
    }
}

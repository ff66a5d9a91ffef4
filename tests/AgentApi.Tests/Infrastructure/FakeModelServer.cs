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

/// <summary>
/// In-process fake of the OpenAI chat completions API (<c>POST /v1/chat/completions</c>) and of
/// Anthropic's Messages API (<c>POST /v1/messages</c>, non-streaming only) over real HTTP on 127.0.0.1.
/// </summary>
/// <remarks>
/// <para>
/// The server records each request, then picks its reply in this order: the first rule added with
/// <see cref="AddRule(Func{RecordedRequest, bool}, FakeReply, int?)"/> or a <c>When…</c> method that
/// matches and is not exhausted, then the responder set with <see cref="SetResponder"/> unless it returns
/// null, then the next reply of the FIFO queue shared by both endpoints, and otherwise <c>"echo: "</c>
/// followed by the last user message. Rules and the responder never consume the queue.
/// </para>
/// <para>
/// Token counts in <c>usage</c> are whitespace-separated word counts (see <see cref="CountTokens"/>),
/// not the output of a real tokenizer, unless the reply sets a <see cref="FakeUsage"/>.
/// </para>
/// </remarks>
public sealed partial class FakeModelServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<FakeReply> replies = new();
    private readonly List<FakeRule> rules = [];
    private readonly Lock rulesLock = new();
    private readonly List<RecordedRequest> requests = [];
    private readonly List<RequestWaiter> requestWaiters = [];
    private readonly Lock requestsLock = new();

    // Cancelled on dispose, so that hanging or delayed requests end and Kestrel can stop.
    private readonly CancellationTokenSource stopping = new();
    private volatile Func<RecordedRequest, FakeReply?>? responder;
    private int activeRequests;
    private int maxConcurrentRequests;
    private int completionCount;
    private int toolCallCount;

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

    /// <summary>Number of model requests, on either endpoint, in progress now, including those in a reply's delay.</summary>
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

    /// <summary>Queues a reply for the next request that neither a rule nor the responder replies to.</summary>
    public void Enqueue(FakeReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        replies.Enqueue(reply);
    }

    /// <summary>Queues a reply with the given assistant text.</summary>
    public void EnqueueReply(string text) => Enqueue(FakeReply.Text(text));

    /// <summary>Queues a reply that is sent after <paramref name="delay"/>, unless the client aborts first.</summary>
    public void EnqueueDelayedReply(string text, TimeSpan delay) => Enqueue(FakeReply.Text(text, delay));

    /// <summary>
    /// Queues an error response with the given status code, in the error format of the endpoint
    /// that consumes it. When <paramref name="retryAfter"/> is given, the response carries a
    /// Retry-After header in whole seconds, rounded up.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is outside 400 to 599.</exception>
    public void EnqueueError(int statusCode, TimeSpan? retryAfter = null) => Enqueue(FakeReply.Error(statusCode, retryAfter));

    /// <summary>Queues a request that never gets a response, until the client aborts it or the server is disposed.</summary>
    public void EnqueueHang() => Enqueue(FakeReply.Hang());

    /// <summary>
    /// Adds a rule that sends <paramref name="reply"/> to each request that <paramref name="match"/> accepts,
    /// at most <paramref name="times"/> times, or without limit when it is null. Rules are tried in the
    /// order they were added, and the first that matches and is not exhausted wins.
    /// </summary>
    /// <remarks>
    /// The predicate runs on a server thread under the rules lock, so it must be fast and must not call
    /// this server. When it throws, the request gets a 500 error whose message contains the exception.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="times"/> is less than 1.</exception>
    public FakeRule AddRule(Func<RecordedRequest, bool> match, FakeReply reply, int? times = null)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return AddRule(match, _ => reply, times);
    }

    /// <summary>
    /// Adds a rule like <see cref="AddRule(Func{RecordedRequest, bool}, FakeReply, int?)"/> whose reply is
    /// built from the matched request, for example to quote a tool result back.
    /// </summary>
    public FakeRule AddRule(Func<RecordedRequest, bool> match, Func<RecordedRequest, FakeReply> reply, int? times = null)
    {
        var rule = new FakeRule(match, reply, times);
        lock (rulesLock)
        {
            rules.Add(rule);
        }

        return rule;
    }

    /// <summary>Adds a rule for requests whose <see cref="RecordedRequest.LastUserMessage"/> contains <paramref name="text"/>, compared ordinally.</summary>
    public FakeRule WhenLastUserMessageContains(string text, FakeReply reply, int? times = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return AddRule(request => request.LastUserMessage.Contains(text, StringComparison.Ordinal), reply, times);
    }

    /// <summary>Adds a rule for requests whose <see cref="RecordedRequest.SystemMessage"/> contains <paramref name="text"/>, compared ordinally.</summary>
    public FakeRule WhenSystemMessageContains(string text, FakeReply reply, int? times = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return AddRule(request => request.SystemMessage.Contains(text, StringComparison.Ordinal), reply, times);
    }

    /// <summary>Adds a rule for requests that offer a tool named <paramref name="toolName"/>.</summary>
    public FakeRule WhenToolOffered(string toolName, FakeReply reply, int? times = null)
    {
        ArgumentNullException.ThrowIfNull(toolName);
        return AddRule(request => request.ToolNames.Contains(toolName, StringComparer.Ordinal), reply, times);
    }

    /// <summary>
    /// Adds a rule for requests whose last message has role <c>tool</c>, that is requests sending tool results
    /// back. On <c>/v1/messages</c> that is a last user message with <c>tool_result</c> blocks and no text.
    /// </summary>
    public FakeRule WhenLastMessageIsToolResult(FakeReply reply, int? times = null) =>
        AddRule(request => request.Messages.Count > 0 && request.Messages[^1].Role == "tool", reply, times);

    /// <summary>Removes a rule, so that it matches no further requests. Returns false when it was not added to this server.</summary>
    public bool RemoveRule(FakeRule rule)
    {
        lock (rulesLock)
        {
            return rules.Remove(rule);
        }
    }

    /// <summary>Removes all rules.</summary>
    public void ClearRules()
    {
        lock (rulesLock)
        {
            rules.Clear();
        }
    }

    /// <summary>
    /// Sets the function that picks a reply for each request that no rule matches. It returns null to
    /// leave the request to the FIFO queue. Null removes the responder.
    /// </summary>
    /// <remarks>
    /// It runs on server threads, concurrently when requests overlap. When it throws, the request gets
    /// a 500 error whose message contains the exception.
    /// </remarks>
    public void SetResponder(Func<RecordedRequest, FakeReply?>? responder) => this.responder = responder;

    /// <summary>
    /// Waits until the server has received at least <paramref name="count"/> requests, and returns a
    /// snapshot of them. A request counts once it is recorded, which is before its reply is sent.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer requests arrived within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<RecordedRequest>> WaitForRequestsAsync(
        int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        RequestWaiter waiter;
        lock (requestsLock)
        {
            if (requests.Count >= count)
            {
                return requests.ToArray();
            }

            waiter = new RequestWaiter(count);
            requestWaiters.Add(waiter);
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"The fake model server received {Requests.Count} of {count} expected requests within {timeout.TotalSeconds} s.");
        }
        finally
        {
            lock (requestsLock)
            {
                requestWaiters.Remove(waiter);
            }
        }
    }

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

    private static async Task<string> ReadBodyAsync(HttpContext context, CancellationToken ct)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct);
    }

    private void Record(RecordedRequest request)
    {
        List<RequestWaiter> satisfied = [];
        RecordedRequest[] snapshot = [];
        lock (requestsLock)
        {
            requests.Add(request);
            satisfied.AddRange(requestWaiters.Where(waiter => waiter.Count <= requests.Count));
            if (satisfied.Count > 0)
            {
                snapshot = requests.ToArray();
            }
        }

        // Completed outside the lock. The sources run continuations asynchronously, so no waiter runs on this thread.
        foreach (var waiter in satisfied)
        {
            waiter.Completion.TrySetResult(snapshot);
        }
    }

    /// <summary>
    /// Picks the reply for a recorded request: rules, then the responder, then the queue, then the echo.
    /// Returns null and sets <paramref name="failure"/> when a rule or the responder throws.
    /// </summary>
    private FakeReply? ChooseReply(RecordedRequest request, out string failure)
    {
        failure = "";
        try
        {
            FakeRule? matched = null;
            lock (rulesLock)
            {
                foreach (var rule in rules)
                {
                    if (rule.TryClaim(request))
                    {
                        matched = rule;
                        break;
                    }
                }
            }

            if (matched is not null)
            {
                return matched.CreateReply(request);
            }

            if (responder?.Invoke(request) is { } response)
            {
                return response;
            }
        }
        catch (Exception exception)
        {
            failure = $"A fake model server rule or responder threw {exception.GetType().Name}: {exception.Message}";
            return null;
        }

        return replies.TryDequeue(out var next) ? next : FakeReply.Text("echo: " + request.LastUserMessage);
    }

    /// <summary>Gives each call its scripted id or the next generated <c>call_N</c>.</summary>
    private List<RecordedToolCall> AssignCallIds(IReadOnlyList<FakeToolCall> calls) =>
        calls.Select(call => new RecordedToolCall(
            call.Id ?? "call_" + Interlocked.Increment(ref toolCallCount).ToString(CultureInfo.InvariantCulture),
            call.Name,
            call.Arguments)).ToList();

    private static FakeUsage ResolveUsage(FakeReply reply, RecordedRequest request) => reply switch
    {
        FakeReply.TextReply text => text.Usage ?? new FakeUsage(request.PromptTokens, CountTokens(text.Content)),
        FakeReply.ToolCallsReply toolCalls => toolCalls.Usage
            ?? new FakeUsage(request.PromptTokens, toolCalls.Calls.Sum(call => CountTokens(call.Arguments))),
        _ => new FakeUsage(request.PromptTokens, 0),
    };

    private static void SetRetryAfter(HttpContext context, TimeSpan? retryAfter)
    {
        if (retryAfter is { } value)
        {
            var seconds = (long)Math.Ceiling(value.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
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

    /// <summary>
    /// Reads message content, which is either a string or an array of content parts, of which only
    /// text parts count. Anthropic's content blocks and <c>system</c> have the same two shapes.
    /// </summary>
    private static string ReadContentText(JsonElement content)
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

    /// <summary>A pending <see cref="WaitForRequestsAsync"/> call.</summary>
    private sealed class RequestWaiter(int count)
    {
        public int Count { get; } = count;

        public TaskCompletionSource<IReadOnlyList<RecordedRequest>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

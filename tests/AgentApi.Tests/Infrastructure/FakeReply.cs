namespace AgentApi.Tests.Infrastructure;

/// <summary>
/// A scripted response of <see cref="FakeModelServer"/>, written in the wire format of the endpoint
/// that receives the request. Create one with the static factory methods.
/// </summary>
public abstract record FakeReply
{
    private readonly TimeSpan delay;

    private protected FakeReply()
    {
    }

    /// <summary>
    /// Time the server waits before it sends the response, unless the client aborts first.
    /// A streaming response waits before its first byte.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan Delay
    {
        get => delay;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            delay = value;
        }
    }

    /// <summary>Creates an assistant text reply.</summary>
    /// <param name="text">The assistant text.</param>
    /// <param name="delay">Time to wait before the response. Null or zero means no wait.</param>
    /// <param name="usage">The token counts to report. Null means word counts, see <see cref="FakeModelServer.CountTokens"/>.</param>
    public static TextReply Text(string text, TimeSpan? delay = null, FakeUsage? usage = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new TextReply(text, usage) { Delay = delay ?? TimeSpan.Zero };
    }

    /// <summary>
    /// Creates an error response with the given HTTP status code, in the error format of the endpoint.
    /// When <paramref name="retryAfter"/> is given, the response carries a Retry-After header in whole
    /// seconds, rounded up.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is outside 400 to 599.</exception>
    public static ErrorReply Error(int statusCode, TimeSpan? retryAfter = null, TimeSpan? delay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        if (retryAfter is { } value)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero, nameof(retryAfter));
        }

        return new ErrorReply(statusCode, retryAfter) { Delay = delay ?? TimeSpan.Zero };
    }

    /// <summary>Creates a reply that never comes, so the request lasts until the client aborts it or the server is disposed.</summary>
    public static HangReply Hang() => new();

    /// <summary>Creates an assistant reply with one function call and no text.</summary>
    /// <param name="name">The function name.</param>
    /// <param name="arguments">The arguments as a JSON string, sent as is, see <see cref="FakeToolCall.Arguments"/>.</param>
    /// <param name="delay">Time to wait before the response. Null or zero means no wait.</param>
    /// <param name="usage">The token counts to report. Null means word counts of the arguments.</param>
    public static ToolCallsReply ToolCall(string name, string arguments, TimeSpan? delay = null, FakeUsage? usage = null) =>
        ToolCalls([new FakeToolCall(name, arguments)], delay, usage);

    /// <summary>Creates an assistant reply with one or more function calls, in the given order, and no text.</summary>
    /// <exception cref="ArgumentException"><paramref name="calls"/> is empty.</exception>
    public static ToolCallsReply ToolCalls(IReadOnlyList<FakeToolCall> calls, TimeSpan? delay = null, FakeUsage? usage = null)
    {
        ArgumentNullException.ThrowIfNull(calls);
        if (calls.Count == 0)
        {
            throw new ArgumentException("A tool call reply needs at least one call.", nameof(calls));
        }

        return new ToolCallsReply([.. calls], usage) { Delay = delay ?? TimeSpan.Zero };
    }

    /// <summary>An assistant text reply, with finish reason <c>stop</c> (OpenAI) or stop reason <c>end_turn</c> (Anthropic).</summary>
    /// <param name="Content">The assistant text. A streaming response sends one chunk per word.</param>
    /// <param name="Usage">The token counts to report, or null for word counts.</param>
    public sealed record TextReply(string Content, FakeUsage? Usage) : FakeReply
    {
        /// <summary>A streaming response waits this long between two chunks of text. Zero (the default) means no wait.</summary>
        public TimeSpan ChunkDelay { get; init; }
    }

    /// <summary>An error response.</summary>
    /// <param name="StatusCode">The HTTP status code, from 400 to 599.</param>
    /// <param name="RetryAfter">The Retry-After value, or null for no header.</param>
    public sealed record ErrorReply(int StatusCode, TimeSpan? RetryAfter) : FakeReply;

    /// <summary>A response that never comes.</summary>
    public sealed record HangReply : FakeReply;

    /// <summary>
    /// An assistant reply with function calls and no text: finish reason <c>tool_calls</c> on
    /// <c>/v1/chat/completions</c>, or <c>tool_use</c> content blocks and stop reason <c>tool_use</c> on <c>/v1/messages</c>.
    /// </summary>
    /// <param name="Calls">The calls, at least one.</param>
    /// <param name="Usage">The token counts to report, or null for word counts of the arguments.</param>
    public sealed record ToolCallsReply(IReadOnlyList<FakeToolCall> Calls, FakeUsage? Usage) : FakeReply;
}

/// <summary>One scripted function call of a <see cref="FakeReply.ToolCallsReply"/>.</summary>
/// <param name="Name">The function name.</param>
/// <param name="Arguments">
/// The arguments as a JSON string. <c>/v1/chat/completions</c> sends it unchanged and unchecked, so a test
/// can send malformed arguments. <c>/v1/messages</c> needs a JSON object, because Anthropic's <c>input</c>
/// is an object, and it returns a 500 error naming the call when the string is not one.
/// </param>
public sealed record FakeToolCall(string Name, string Arguments)
{
    /// <summary>
    /// The call id to send. Null, the default, makes the server generate <c>call_1</c>, <c>call_2</c>, …
    /// from one counter per server, in the order it sends calls on either endpoint.
    /// </summary>
    public string? Id { get; init; }
}

/// <summary>Token counts that a reply reports in place of the server's word counts.</summary>
/// <param name="PromptTokens">Reported as <c>prompt_tokens</c> (OpenAI) or <c>input_tokens</c> (Anthropic).</param>
/// <param name="CompletionTokens">Reported as <c>completion_tokens</c> (OpenAI) or <c>output_tokens</c> (Anthropic).</param>
public sealed record FakeUsage(int PromptTokens, int CompletionTokens)
{
    /// <summary>The sum reported as <c>total_tokens</c> on <c>/v1/chat/completions</c>.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// A rule added to <see cref="FakeModelServer"/>: a request predicate and the reply to send when it matches.
/// Use it to read how often the rule fired.
/// </summary>
public sealed class FakeRule
{
    private readonly Func<RecordedRequest, bool> match;
    private readonly Func<RecordedRequest, FakeReply> createReply;
    private int matchCount;

    internal FakeRule(Func<RecordedRequest, bool> match, Func<RecordedRequest, FakeReply> createReply, int? times)
    {
        ArgumentNullException.ThrowIfNull(match);
        ArgumentNullException.ThrowIfNull(createReply);
        if (times is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(times));
        }

        this.match = match;
        this.createReply = createReply;
        Times = times;
    }

    /// <summary>The maximum number of requests the rule matches, or null for no limit.</summary>
    public int? Times { get; }

    /// <summary>Number of requests the rule has matched so far.</summary>
    public int MatchCount => Volatile.Read(ref matchCount);

    /// <summary>Whether the rule has matched <see cref="Times"/> requests, so that it matches no more.</summary>
    public bool IsExhausted => MatchCount >= Times;

    /// <summary>
    /// Claims the rule for the request when it is not exhausted and its predicate matches.
    /// The server calls this under its rules lock, so that a limited rule never fires more than <see cref="Times"/> times.
    /// </summary>
    internal bool TryClaim(RecordedRequest request)
    {
        if (IsExhausted || !match(request))
        {
            return false;
        }

        Interlocked.Increment(ref matchCount);
        return true;
    }

    internal FakeReply CreateReply(RecordedRequest request) =>
        createReply(request) ?? throw new InvalidOperationException("A fake model server rule's reply factory returned null.");
}

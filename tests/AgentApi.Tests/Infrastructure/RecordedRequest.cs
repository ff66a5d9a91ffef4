namespace AgentApi.Tests.Infrastructure;

/// <summary>One model request as the fake model server received it: OpenAI chat completions or Anthropic messages.</summary>
/// <param name="Model">The request's <c>model</c>.</param>
/// <param name="Stream">The request's <c>stream</c>, false when absent.</param>
/// <param name="Authorization">
/// The Authorization header value. On <c>/v1/messages</c> without that header it is the
/// <c>x-api-key</c> header value, which some Anthropic clients send in its place. Null when both are absent.
/// </param>
/// <param name="LastUserMessage">
/// The text of the last message in <see cref="Messages"/> with role <c>user</c>, empty when there is none.
/// An Anthropic user message that contains only <c>tool_result</c> blocks does not count, because it is
/// recorded as <c>tool</c> messages.
/// </param>
/// <param name="Body">The raw request body.</param>
public sealed record RecordedRequest(string Model, bool Stream, string? Authorization, string LastUserMessage, string Body)
{
    /// <summary>The request path: <c>/v1/chat/completions</c> or <c>/v1/messages</c>.</summary>
    public string Path { get; init; } = "";

    /// <summary>
    /// The conversation in request order. On <c>/v1/chat/completions</c> there is one entry per element of
    /// <c>messages</c>, system messages included. On <c>/v1/messages</c> the top-level <c>system</c> is not an
    /// entry, and each <c>tool_result</c> block becomes a <c>tool</c> entry before the rest of its user message,
    /// so that tests read tool round trips the same way on both endpoints.
    /// </summary>
    public IReadOnlyList<RecordedMessage> Messages { get; init; } = [];

    /// <summary>
    /// The system prompt: on <c>/v1/chat/completions</c> the texts of the <c>system</c> and <c>developer</c>
    /// messages joined with newlines, on <c>/v1/messages</c> the text of <c>system</c>. Empty when there is none.
    /// </summary>
    public string SystemMessage { get; init; } = "";

    /// <summary>
    /// Names of the offered tools in request order: <c>tools[].function.name</c> on
    /// <c>/v1/chat/completions</c>, <c>tools[].name</c> on <c>/v1/messages</c>. Empty when the request offers none.
    /// </summary>
    public IReadOnlyList<string> ToolNames { get; init; } = [];

    /// <summary>Whether a chat completions request sets <c>stream_options.include_usage</c> to true.</summary>
    public bool IncludeUsage { get; init; }

    /// <summary>
    /// The prompt token count that the server reports unless the reply sets <see cref="FakeUsage"/>:
    /// <see cref="FakeModelServer.CountTokens"/> of the system prompt and of every message text.
    /// Tool call arguments in assistant messages do not count.
    /// </summary>
    public int PromptTokens { get; init; }
}

/// <summary>One message of a <see cref="RecordedRequest"/>.</summary>
/// <param name="Role">The role as sent: <c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Text">The text content, with text parts concatenated. Empty when the content is null or has no text.</param>
public sealed record RecordedMessage(string Role, string Text)
{
    /// <summary>For role <c>tool</c>, the id of the call that this message is the result of. Null otherwise.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>For role <c>assistant</c>, the function calls it contains, in order. Empty otherwise.</summary>
    public IReadOnlyList<RecordedToolCall> ToolCalls { get; init; } = [];
}

/// <summary>A function call of an assistant message in a <see cref="RecordedRequest"/>.</summary>
/// <param name="Id">The call id.</param>
/// <param name="Name">The function name.</param>
/// <param name="Arguments">
/// The arguments JSON: the <c>function.arguments</c> string on <c>/v1/chat/completions</c>, the raw
/// <c>input</c> object on <c>/v1/messages</c>.
/// </param>
public sealed record RecordedToolCall(string Id, string Name, string Arguments);

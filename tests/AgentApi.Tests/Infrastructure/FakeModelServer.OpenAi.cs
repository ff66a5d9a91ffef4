using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace AgentApi.Tests.Infrastructure;

/// <summary>The OpenAI chat completions endpoint, <c>POST /v1/chat/completions</c>.</summary>
public sealed partial class FakeModelServer
{
    // Streamed tool call arguments are cut into pieces of this many UTF-16 code units, so that
    // clients must join several argument deltas, as they must with the real API.
    private const int ArgumentsChunkLength = 8;

    private async Task HandleAsync(HttpContext context, CancellationToken ct)
    {
        var body = await ReadBodyAsync(context, ct);

        RecordedRequest request;
        try
        {
            request = ParseChatRequest(body, context.Request.Headers.Authorization.FirstOrDefault(), context.Request.Path);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"Invalid chat completions request: {exception.Message}", ct);
            return;
        }

        Record(request);

        var reply = ChooseReply(request, out var failure);
        if (reply is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, failure, ct);
            return;
        }

        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, ct);
        }

        switch (reply)
        {
            case FakeReply.TextReply text when request.Stream:
                await WriteStreamingCompletionAsync(context, request, text.Content, text.ChunkDelay, ResolveUsage(reply, request), ct);
                break;

            case FakeReply.TextReply text:
                await WriteCompletionAsync(context, request, text.Content, ResolveUsage(reply, request), ct);
                break;

            case FakeReply.ToolCallsReply toolCalls when request.Stream:
                await WriteStreamingToolCallsAsync(context, request, AssignCallIds(toolCalls.Calls), ResolveUsage(reply, request), ct);
                break;

            case FakeReply.ToolCallsReply toolCalls:
                await WriteToolCallCompletionAsync(context, request, AssignCallIds(toolCalls.Calls), ResolveUsage(reply, request), ct);
                break;

            case FakeReply.ErrorReply error:
                SetRetryAfter(context, error.RetryAfter);
                await WriteErrorAsync(context, error.StatusCode, $"Scripted error with status code {error.StatusCode}.", ct);
                break;

            case FakeReply.HangReply:
                await Task.Delay(Timeout.Infinite, ct);
                break;
        }
    }

    private async Task WriteCompletionAsync(HttpContext context, RecordedRequest request, string text, FakeUsage usage, CancellationToken ct)
    {
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
            WriteUsage(writer, usage);
        });

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    /// <summary>
    /// Writes a completion whose message has null content and the calls in <c>tool_calls</c>, with
    /// finish reason <c>tool_calls</c>, as the OpenAI API does for function calls.
    /// </summary>
    private async Task WriteToolCallCompletionAsync(
        HttpContext context, RecordedRequest request, IReadOnlyList<RecordedToolCall> calls, FakeUsage usage, CancellationToken ct)
    {
        var json = WriteJson(writer =>
        {
            WriteCompletionHeader(writer, request.Model);
            writer.WriteStartArray("choices");
            writer.WriteStartObject();
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("message");
            writer.WriteString("role", "assistant");
            writer.WriteNull("content");
            writer.WriteNull("refusal");
            writer.WriteStartArray("tool_calls");
            foreach (var call in calls)
            {
                writer.WriteStartObject();
                writer.WriteString("id", call.Id);
                writer.WriteString("type", "function");
                writer.WriteStartObject("function");
                writer.WriteString("name", call.Name);
                writer.WriteString("arguments", call.Arguments);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteNull("logprobs");
            writer.WriteString("finish_reason", "tool_calls");
            writer.WriteEndObject();
            writer.WriteEndArray();
            WriteUsage(writer, usage);
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
    private async Task WriteStreamingCompletionAsync(
        HttpContext context, RecordedRequest request, string text, TimeSpan chunkDelay, FakeUsage usage, CancellationToken ct)
    {
        StartEventStream(context);
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
            if (chunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(chunkDelay, ct);
            }

            await WriteEventAsync(context, WriteChunk(id, created, request.Model, includeUsage, delta =>
                delta.WriteString("content", piece), finishReason: null), ct);
        }

        await WriteStreamEndAsync(context, request, id, created, "stop", usage, ct);
    }

    /// <summary>
    /// Writes function calls as server-sent events the way the OpenAI API streams them. Each call starts
    /// with a chunk carrying its <c>tool_calls[].index</c>, id, type, name and empty arguments, and the
    /// first of these also carries the role. Chunks with pieces of the arguments follow, then a chunk with
    /// finish reason <c>tool_calls</c>, a usage chunk when <c>stream_options.include_usage</c> is true, and <c>[DONE]</c>.
    /// </summary>
    private async Task WriteStreamingToolCallsAsync(
        HttpContext context, RecordedRequest request, IReadOnlyList<RecordedToolCall> calls, FakeUsage usage, CancellationToken ct)
    {
        StartEventStream(context);
        var id = NextCompletionId();
        var created = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var includeUsage = request.IncludeUsage;

        for (var index = 0; index < calls.Count; index++)
        {
            var call = calls[index];
            var callIndex = index;
            await WriteEventAsync(context, WriteChunk(id, created, request.Model, includeUsage, delta =>
            {
                if (callIndex == 0)
                {
                    delta.WriteString("role", "assistant");
                    delta.WriteNull("content");
                }

                WriteToolCallDelta(delta, callIndex, call, "");
            }, finishReason: null), ct);

            foreach (var piece in SplitArguments(call.Arguments))
            {
                await WriteEventAsync(context, WriteChunk(id, created, request.Model, includeUsage, delta =>
                    WriteToolCallDelta(delta, callIndex, header: null, piece), finishReason: null), ct);
            }
        }

        await WriteStreamEndAsync(context, request, id, created, "tool_calls", usage, ct);
    }

    /// <summary>Writes a <c>delta.tool_calls</c> array with one entry, with the call's id, type and name when <paramref name="header"/> is given.</summary>
    private static void WriteToolCallDelta(Utf8JsonWriter delta, int index, RecordedToolCall? header, string arguments)
    {
        delta.WriteStartArray("tool_calls");
        delta.WriteStartObject();
        delta.WriteNumber("index", index);
        if (header is not null)
        {
            delta.WriteString("id", header.Id);
            delta.WriteString("type", "function");
        }

        delta.WriteStartObject("function");
        if (header is not null)
        {
            delta.WriteString("name", header.Name);
        }

        delta.WriteString("arguments", arguments);
        delta.WriteEndObject();
        delta.WriteEndObject();
        delta.WriteEndArray();
    }

    private static void StartEventStream(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
    }

    /// <summary>Writes the chunk with the finish reason, the usage chunk when the request sets <c>stream_options.include_usage</c>, and <c>[DONE]</c>.</summary>
    private static async Task WriteStreamEndAsync(
        HttpContext context, RecordedRequest request, string id, long created, string finishReason, FakeUsage usage, CancellationToken ct)
    {
        await WriteEventAsync(context, WriteChunk(id, created, request.Model, request.IncludeUsage, _ => { }, finishReason), ct);

        if (request.IncludeUsage)
        {
            var usageChunk = WriteJson(writer =>
            {
                WriteChunkHeader(writer, id, created, request.Model);
                writer.WriteStartArray("choices");
                writer.WriteEndArray();
                WriteUsage(writer, usage);
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

    private static void WriteUsage(Utf8JsonWriter writer, FakeUsage usage)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", usage.PromptTokens);
        writer.WriteNumber("completion_tokens", usage.CompletionTokens);
        writer.WriteNumber("total_tokens", usage.TotalTokens);
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

    /// <summary>
    /// Splits arguments into pieces of <see cref="ArgumentsChunkLength"/> code units that concatenate back
    /// to the string. A cut never falls inside a surrogate pair, which the JSON writer would reject.
    /// </summary>
    private static List<string> SplitArguments(string arguments)
    {
        var pieces = new List<string>();
        var start = 0;
        while (start < arguments.Length)
        {
            var end = Math.Min(start + ArgumentsChunkLength, arguments.Length);
            if (end < arguments.Length && char.IsLowSurrogate(arguments[end]))
            {
                end++;
            }

            pieces.Add(arguments[start..end]);
            start = end;
        }

        return pieces;
    }

    /// <summary>Parses a chat completions request body into the recorded form.</summary>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    /// <exception cref="KeyNotFoundException">A required property (<c>model</c>, <c>messages</c>, a message's <c>role</c>) is missing.</exception>
    /// <exception cref="InvalidOperationException">A property has the wrong JSON type.</exception>
    private static RecordedRequest ParseChatRequest(string body, string? authorization, string path)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;

        var model = root.GetProperty("model").GetString() ?? "";
        var stream = root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;
        var includeUsage = root.TryGetProperty("stream_options", out var streamOptions)
            && streamOptions.ValueKind == JsonValueKind.Object
            && streamOptions.TryGetProperty("include_usage", out var includeUsageElement)
            && includeUsageElement.ValueKind == JsonValueKind.True;

        var messages = new List<RecordedMessage>();
        var systemTexts = new List<string>();
        var promptTokens = 0;
        foreach (var element in root.GetProperty("messages").EnumerateArray())
        {
            var message = ReadChatMessage(element);
            messages.Add(message);
            promptTokens += CountTokens(message.Text);
            if (message.Role is "system" or "developer")
            {
                systemTexts.Add(message.Text);
            }
        }

        var toolNames = new List<string>();
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                if (tool.TryGetProperty("function", out var function) && function.TryGetProperty("name", out var name))
                {
                    toolNames.Add(name.GetString() ?? "");
                }
            }
        }

        var lastUserMessage = messages.LastOrDefault(message => message.Role == "user")?.Text ?? "";
        return new RecordedRequest(model, stream, authorization, lastUserMessage, body)
        {
            Path = path,
            Messages = messages,
            SystemMessage = string.Join('\n', systemTexts),
            ToolNames = toolNames,
            IncludeUsage = includeUsage,
            PromptTokens = promptTokens,
        };
    }

    private static RecordedMessage ReadChatMessage(JsonElement element)
    {
        var role = element.GetProperty("role").GetString() ?? "";
        var text = element.TryGetProperty("content", out var content) ? ReadContentText(content) : "";
        var toolCallId = element.TryGetProperty("tool_call_id", out var toolCallIdElement) && toolCallIdElement.ValueKind == JsonValueKind.String
            ? toolCallIdElement.GetString()
            : null;

        var toolCalls = new List<RecordedToolCall>();
        if (element.TryGetProperty("tool_calls", out var toolCallsElement) && toolCallsElement.ValueKind == JsonValueKind.Array)
        {
            foreach (var call in toolCallsElement.EnumerateArray())
            {
                var function = call.GetProperty("function");
                toolCalls.Add(new RecordedToolCall(
                    call.GetProperty("id").GetString() ?? "",
                    function.GetProperty("name").GetString() ?? "",
                    function.TryGetProperty("arguments", out var arguments) ? arguments.GetString() ?? "" : ""));
            }
        }

        return new RecordedMessage(role, text) { ToolCallId = toolCallId, ToolCalls = toolCalls };
    }
}

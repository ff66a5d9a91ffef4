using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace AgentApi.Tests.Infrastructure;

/// <summary>Anthropic's Messages endpoint, <c>POST /v1/messages</c>, without streaming.</summary>
public sealed partial class FakeModelServer
{
    /// <summary>
    /// Handles <c>POST /v1/messages</c> in Anthropic's wire format. A request with <c>stream: true</c>
    /// is recorded and rejected with 400 before any rule, the responder or the queue picks a reply.
    /// </summary>
    private async Task HandleAnthropicAsync(HttpContext context, CancellationToken ct)
    {
        var body = await ReadBodyAsync(context, ct);

        var authorization = context.Request.Headers.Authorization.FirstOrDefault()
            ?? context.Request.Headers["x-api-key"].FirstOrDefault();
        RecordedRequest request;
        try
        {
            request = ParseMessagesRequest(body, authorization, context.Request.Path);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            await WriteAnthropicErrorAsync(context, StatusCodes.Status400BadRequest, $"Invalid messages request: {exception.Message}", ct);
            return;
        }

        Record(request);

        if (request.Stream)
        {
            await WriteAnthropicErrorAsync(context, StatusCodes.Status400BadRequest,
                "The fake model server does not support streaming on /v1/messages; send \"stream\": false.", ct);
            return;
        }

        var reply = ChooseReply(request, out var failure);
        if (reply is null)
        {
            await WriteAnthropicErrorAsync(context, StatusCodes.Status500InternalServerError, failure, ct);
            return;
        }

        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, ct);
        }

        switch (reply)
        {
            case FakeReply.TextReply text:
                await WriteMessageAsync(context, request, text.Content, ResolveUsage(reply, request), ct);
                break;

            case FakeReply.ToolCallsReply toolCalls:
                if (FindInvalidToolInput(toolCalls.Calls) is { } invalid)
                {
                    await WriteAnthropicErrorAsync(context, StatusCodes.Status500InternalServerError,
                        $"Invalid arguments in the scripted tool call '{invalid.Name}': Anthropic's tool_use input must be a JSON object such as {{}}, but the arguments are: {invalid.Arguments}", ct);
                    return;
                }

                await WriteToolUseMessageAsync(context, request, AssignCallIds(toolCalls.Calls), ResolveUsage(reply, request), ct);
                break;

            case FakeReply.ErrorReply error:
                SetRetryAfter(context, error.RetryAfter);
                await WriteAnthropicErrorAsync(context, error.StatusCode, $"Scripted error with status code {error.StatusCode}.", ct);
                break;

            case FakeReply.HangReply:
                await Task.Delay(Timeout.Infinite, ct);
                break;
        }
    }

    private static FakeToolCall? FindInvalidToolInput(IReadOnlyList<FakeToolCall> calls)
    {
        foreach (var call in calls)
        {
            try
            {
                using var arguments = JsonDocument.Parse(call.Arguments);
                if (arguments.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return call;
                }
            }
            catch (JsonException)
            {
                return call;
            }
        }

        return null;
    }

    /// <summary>Writes a non-streaming Anthropic message with one text block and stop reason <c>end_turn</c>.</summary>
    private async Task WriteMessageAsync(HttpContext context, RecordedRequest request, string text, FakeUsage usage, CancellationToken ct)
    {
        var json = WriteJson(writer =>
        {
            WriteMessageHeader(writer, request.Model);
            writer.WriteStartArray("content");
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", text);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteString("stop_reason", "end_turn");
            writer.WriteNull("stop_sequence");
            WriteAnthropicUsage(writer, usage);
        });

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    /// <summary>
    /// Writes a non-streaming Anthropic message with one <c>tool_use</c> block per call and stop reason
    /// <c>tool_use</c>. Each call's arguments must be a JSON object, see <see cref="FindInvalidToolInput"/>.
    /// </summary>
    private async Task WriteToolUseMessageAsync(
        HttpContext context, RecordedRequest request, IReadOnlyList<RecordedToolCall> calls, FakeUsage usage, CancellationToken ct)
    {
        var json = WriteJson(writer =>
        {
            WriteMessageHeader(writer, request.Model);
            writer.WriteStartArray("content");
            foreach (var call in calls)
            {
                writer.WriteStartObject();
                writer.WriteString("type", "tool_use");
                writer.WriteString("id", call.Id);
                writer.WriteString("name", call.Name);
                writer.WritePropertyName("input");
                writer.WriteRawValue(call.Arguments);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("stop_reason", "tool_use");
            writer.WriteNull("stop_sequence");
            WriteAnthropicUsage(writer, usage);
        });

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, ct);
    }

    private void WriteMessageHeader(Utf8JsonWriter writer, string model)
    {
        writer.WriteString("id", "msg_fake_" + Interlocked.Increment(ref completionCount).ToString(CultureInfo.InvariantCulture));
        writer.WriteString("type", "message");
        writer.WriteString("role", "assistant");
        writer.WriteString("model", model);
    }

    private static void WriteAnthropicUsage(Utf8JsonWriter writer, FakeUsage usage)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", usage.PromptTokens);
        writer.WriteNumber("output_tokens", usage.CompletionTokens);
        writer.WriteEndObject();
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

    /// <summary>Parses an Anthropic messages request body into the recorded form.</summary>
    /// <remarks>
    /// <c>max_tokens</c> must be present, as the real API requires it. The top-level <c>system</c>
    /// counts towards <see cref="RecordedRequest.PromptTokens"/> like any message.
    /// </remarks>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    /// <exception cref="KeyNotFoundException">A required property is missing.</exception>
    /// <exception cref="InvalidOperationException">A property has the wrong JSON type.</exception>
    private static RecordedRequest ParseMessagesRequest(string body, string? authorization, string path)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;

        var model = root.GetProperty("model").GetString() ?? "";
        _ = root.GetProperty("max_tokens").GetInt32();
        var stream = root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;

        var systemMessage = root.TryGetProperty("system", out var system) ? ReadContentText(system) : "";
        var promptTokens = CountTokens(systemMessage);
        var messages = new List<RecordedMessage>();
        foreach (var element in root.GetProperty("messages").EnumerateArray())
        {
            foreach (var message in ReadAnthropicMessage(element))
            {
                messages.Add(message);
                promptTokens += CountTokens(message.Text);
            }
        }

        var toolNames = new List<string>();
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                if (tool.TryGetProperty("name", out var name))
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
            SystemMessage = systemMessage,
            ToolNames = toolNames,
            PromptTokens = promptTokens,
        };
    }

    /// <summary>
    /// Reads one Anthropic message as recorded messages: a <c>tool</c> message for each <c>tool_result</c>
    /// block, then the message itself with its text and <c>tool_use</c> calls. The message itself is left
    /// out when it contains tool results and nothing else.
    /// </summary>
    private static List<RecordedMessage> ReadAnthropicMessage(JsonElement element)
    {
        var role = element.GetProperty("role").GetString() ?? "";
        var content = element.GetProperty("content");
        if (content.ValueKind != JsonValueKind.Array)
        {
            return [new RecordedMessage(role, ReadContentText(content))];
        }

        var recorded = new List<RecordedMessage>();
        var text = new StringBuilder();
        var toolCalls = new List<RecordedToolCall>();
        foreach (var block in content.EnumerateArray())
        {
            switch (block.TryGetProperty("type", out var type) ? type.GetString() : null)
            {
                case "text":
                    text.Append(block.GetProperty("text").GetString());
                    break;

                case "tool_use":
                    toolCalls.Add(new RecordedToolCall(
                        block.GetProperty("id").GetString() ?? "",
                        block.GetProperty("name").GetString() ?? "",
                        block.GetProperty("input").GetRawText()));
                    break;

                case "tool_result":
                    var result = block.TryGetProperty("content", out var resultContent) ? ReadContentText(resultContent) : "";
                    recorded.Add(new RecordedMessage("tool", result) { ToolCallId = block.GetProperty("tool_use_id").GetString() });
                    break;
            }
        }

        if (recorded.Count == 0 || text.Length > 0 || toolCalls.Count > 0)
        {
            recorded.Add(new RecordedMessage(role, text.ToString()) { ToolCalls = toolCalls });
        }

        return recorded;
    }
}

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using AgentApi.Agents.Models;
using AgentApi.Tests.Infrastructure;
using Anthropic.Exceptions;
using OpenAI;
using OpenAI.Chat;

namespace AgentApi.Tests.Agents;

/// <summary>
/// Classification by <see cref="ModelFailure.From"/>. OpenAI failures are real exceptions from the
/// OpenAI client against the fake model server, except for the Retry-After forms that the fake
/// cannot send, which use a hand-built response.
/// </summary>
public sealed class ModelFailureTests
{
    private const string ApiKey = "sk-test-secret";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(400, false, "model_error")]
    [InlineData(401, false, "model_error")]
    [InlineData(403, false, "model_error")]
    [InlineData(404, false, "model_error")]
    [InlineData(422, false, "model_error")]
    [InlineData(408, true, "model_timeout")]
    [InlineData(429, true, "rate_limited")]
    [InlineData(500, true, "model_unavailable")]
    [InlineData(502, true, "model_unavailable")]
    [InlineData(503, true, "model_unavailable")]
    public async Task From_OpenAiStatus_ClassifiesByStatus(int status, bool transient, string errorType)
    {
        var exception = await CaptureOpenAiErrorAsync(status, retryAfter: null);

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.Equal(transient, failure.IsTransient);
        Assert.Equal(status, failure.StatusCode);
        Assert.Equal(errorType, failure.ErrorType);
        Assert.Null(failure.RetryAfter);
        Assert.StartsWith($"The model endpoint returned HTTP {status}", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task From_OpenAi429RetryAfter_ReadsSeconds()
    {
        var exception = await CaptureOpenAiErrorAsync(429, TimeSpan.FromSeconds(7));

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.Equal("rate_limited", failure.ErrorType);
        Assert.Equal(TimeSpan.FromSeconds(7), failure.RetryAfter);
    }

    [Fact]
    public async Task From_OpenAi503RetryAfter_KeepsIt()
    {
        var exception = await CaptureOpenAiErrorAsync(503, TimeSpan.FromSeconds(2));

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.Equal("model_unavailable", failure.ErrorType);
        Assert.Equal(TimeSpan.FromSeconds(2), failure.RetryAfter);
    }

    [Theory]
    [InlineData("0", null, 0.0)]
    [InlineData("120", null, 120.0)]
    [InlineData("Wed, 21 Oct 2026 07:28:30 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", 30.0)]
    [InlineData("Wed, 21 Oct 2026 07:27:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", 0.0)]
    public void From_RetryAfterForms_ReadsDelay(string retryAfter, string? date, double expectedSeconds)
    {
        var exception = new ClientResultException(new StubResponse(429, RetryAfterHeaders(retryAfter, date)));

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), failure.RetryAfter);
    }

    [Theory]
    [InlineData("Wed, 21 Oct 2026 07:28:30 GMT", null)]
    [InlineData("soon", null)]
    [InlineData("", null)]
    [InlineData("soon", "Wed, 21 Oct 2026 07:28:00 GMT")]
    public void From_UnusableRetryAfter_HasNoRetryAfter(string retryAfter, string? date)
    {
        var exception = new ClientResultException(new StubResponse(429, RetryAfterHeaders(retryAfter, date)));

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.Equal("rate_limited", failure.ErrorType);
        Assert.Null(failure.RetryAfter);
    }

    [Fact]
    public void From_ClientResultWithoutResponse_IsTransientUnavailable()
    {
        var exception = new ClientResultException("Connection refused (127.0.0.1:1)");

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.StatusCode);
        Assert.Equal("model_unavailable", failure.ErrorType);
        Assert.Contains("could not be reached", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400, false, "model_error")]
    [InlineData(401, false, "model_error")]
    [InlineData(404, false, "model_error")]
    [InlineData(408, true, "model_timeout")]
    [InlineData(429, true, "rate_limited")]
    [InlineData(500, true, "model_unavailable")]
    [InlineData(529, true, "model_unavailable")]
    public void From_AnthropicStatus_ClassifiesByStatus(int status, bool transient, string errorType)
    {
        var exception = AnthropicExceptionFactory.CreateApiException(
            (HttpStatusCode)status,
            """{"type":"error","error":{"type":"api_error","message":"Scripted."}}""");

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.Equal(transient, failure.IsTransient);
        Assert.Equal(status, failure.StatusCode);
        Assert.Equal(errorType, failure.ErrorType);
        Assert.StartsWith($"The model endpoint returned HTTP {status}", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_AnthropicIo_IsTransientUnavailable()
    {
        var exception = new AnthropicIOException("Connection refused", new HttpRequestException("Connection refused"));

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.StatusCode);
        Assert.Equal("model_unavailable", failure.ErrorType);
    }

    [Fact]
    public void From_HttpRequestWithStatus_ClassifiesByStatus()
    {
        var exception = new HttpRequestException("Service unavailable", null, HttpStatusCode.ServiceUnavailable);

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.True(failure.IsTransient);
        Assert.Equal(503, failure.StatusCode);
        Assert.Equal("model_unavailable", failure.ErrorType);
    }

    [Fact]
    public void From_HttpRequestWithoutStatus_IsTransientUnavailable()
    {
        var exception = new HttpRequestException("No such host is known.");

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.StatusCode);
        Assert.Equal("model_unavailable", failure.ErrorType);
    }

    [Fact]
    public void From_CancelledWithoutCallerCancel_IsTransientTimeout()
    {
        var exception = new TaskCanceledException("The request timed out.", new TimeoutException());

        var failure = ModelFailure.From(exception, CancellationToken.None);

        Assert.NotNull(failure);
        Assert.True(failure.IsTransient);
        Assert.Equal("model_timeout", failure.ErrorType);
    }

    [Fact]
    public void From_CancelledByCaller_IsNotModelFailure()
    {
        using var caller = new CancellationTokenSource();
        caller.Cancel();
        var exception = new OperationCanceledException(caller.Token);

        Assert.Null(ModelFailure.From(exception, caller.Token));
    }

    [Fact]
    public void From_Timeout_IsTransientTimeout()
    {
        var failure = ModelFailure.From(new TimeoutException(), CancellationToken.None);

        Assert.NotNull(failure);
        Assert.True(failure.IsTransient);
        Assert.Equal("model_timeout", failure.ErrorType);
    }

    [Fact]
    public void From_UnrelatedException_IsNotModelFailure()
    {
        Assert.Null(ModelFailure.From(new InvalidOperationException("A bug."), CancellationToken.None));
    }

    /// <summary>Sends one request through the real OpenAI client to a fake that returns <paramref name="status"/>.</summary>
    private static async Task<ClientResultException> CaptureOpenAiErrorAsync(int status, TimeSpan? retryAfter)
    {
        await using var fake = await FakeModelServer.StartAsync().WaitAsync(Timeout);
        fake.EnqueueError(status, retryAfter);
        var client = new ChatClient("gpt-test", new ApiKeyCredential(ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(fake.BaseUrl),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

        return await Assert.ThrowsAsync<ClientResultException>(
            () => client.CompleteChatAsync([new UserChatMessage("hi")]).WaitAsync(Timeout));
    }

    private static Dictionary<string, string> RetryAfterHeaders(string retryAfter, string? date)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Retry-After"] = retryAfter };
        if (date is not null)
        {
            headers["Date"] = date;
        }

        return headers;
    }

    /// <summary>A buffered error response with fixed headers, for Retry-After forms the fake server cannot send.</summary>
    private sealed class StubResponse(int status, Dictionary<string, string> headers) : PipelineResponse
    {
        private readonly BinaryData _content = BinaryData.FromString("""{"error":{"message":"Scripted.","type":"requests"}}""");

        public override int Status => status;

        public override string ReasonPhrase => "Scripted";

        public override Stream? ContentStream { get; set; }

        public override BinaryData Content => _content;

        protected override PipelineResponseHeaders HeadersCore => new StubHeaders(headers);

        public override BinaryData BufferContent(CancellationToken cancellationToken = default) => _content;

        public override ValueTask<BinaryData> BufferContentAsync(CancellationToken cancellationToken = default) => new(_content);

        public override void Dispose()
        {
        }
    }

    private sealed class StubHeaders(Dictionary<string, string> headers) : PipelineResponseHeaders
    {
        public override bool TryGetValue(string name, out string? value)
        {
            var found = headers.TryGetValue(name, out var text);
            value = text;
            return found;
        }

        public override bool TryGetValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
        {
            values = headers.TryGetValue(name, out var text) ? [text] : null;
            return values is not null;
        }

        public override IEnumerator<KeyValuePair<string, string>> GetEnumerator() => headers.GetEnumerator();
    }
}

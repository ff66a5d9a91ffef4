using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

namespace AgentApi.Agents.Models;

/// <summary>
/// Builds one <see cref="IChatClient"/> per named model under <c>Models</c> and keeps it for the
/// life of the process, so the model's limits are shared by every caller.
/// </summary>
public sealed class ModelRegistry(IConfiguration configuration, TimeProvider timeProvider) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IChatClient>> _clients = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Returns the client for <paramref name="modelName"/>; <c>inherit</c> means <c>Default</c>.</summary>
    public IChatClient Get(string modelName)
    {
        var name = string.Equals(modelName, Agents.AgentCatalog.InheritModel, StringComparison.Ordinal)
            ? ModelOptions.DefaultName
            : modelName;
        return _clients.GetOrAdd(name, key => new Lazy<IChatClient>(() => Create(key))).Value;
    }

    /// <summary>Returns the options of <paramref name="modelName"/>, with defaults where nothing is configured.</summary>
    public ModelOptions GetOptions(string modelName) =>
        configuration.GetSection($"{ModelOptions.SectionName}:{modelName}").Get<ModelOptions>() ?? new ModelOptions();

    public void Dispose()
    {
        foreach (var client in _clients.Values.Where(client => client.IsValueCreated))
        {
            client.Value.Dispose();
        }
    }

    private IChatClient Create(string modelName)
    {
        var options = GetOptions(modelName);
        var inner = CreateProviderClient(modelName, options);
        IChatClient limited = new ProviderLimitChatClient(inner, modelName, options.MaxConcurrentRequests, options.RequestsPerMinute);
        var stream = options.Stream ?? ParseProvider(modelName, options.Provider) != ModelProvider.Anthropic;
        return stream ? new StreamingOutputChatClient(limited) : limited;
    }

    private IChatClient CreateProviderClient(string modelName, ModelOptions options)
    {
        var provider = ParseProvider(modelName, options.Provider);
        switch (provider)
        {
            case ModelProvider.Simulated:
                return new SimulatedChatClient(TimeSpan.FromMilliseconds(options.LatencyMs), timeProvider);

            case ModelProvider.OpenAI:
            {
                var model = Require(modelName, options.Model, "Model");
                var clientOptions = new OpenAIClientOptions
                {
                    // Retries are the task's business: each one is an attempt with its own event.
                    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                    NetworkTimeout = options.RequestTimeout,
                };
                if (!string.IsNullOrWhiteSpace(options.Endpoint))
                {
                    clientOptions.Endpoint = new Uri(options.Endpoint);
                }

                // Local servers such as Ollama need no key, but the client requires a credential.
                var credential = new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "unused" : options.ApiKey);
                return new OpenAIClient(credential, clientOptions).GetChatClient(model).AsIChatClient();
            }

            case ModelProvider.Anthropic:
            {
                var model = Require(modelName, options.Model, "Model");
                var apiKey = Require(modelName, options.ApiKey, "ApiKey");
                // Anthropic's exceptions carry no headers, so Retry-After is read on the way in.
                var httpClient = new HttpClient(new RetryAfterCapture.Handler(timeProvider)) { Timeout = Timeout.InfiniteTimeSpan };
                var client = string.IsNullOrWhiteSpace(options.Endpoint)
                    ? new AnthropicClient { ApiKey = apiKey, MaxRetries = 0, Timeout = options.RequestTimeout, HttpClient = httpClient }
                    : new AnthropicClient { ApiKey = apiKey, MaxRetries = 0, Timeout = options.RequestTimeout, HttpClient = httpClient, BaseUrl = options.Endpoint };

                return client.AsIChatClient(model);
            }

            default:
                throw new InvalidOperationException($"Model provider '{provider}' is not supported.");
        }
    }

    private static ModelProvider ParseProvider(string modelName, string value) => value.ToLowerInvariant() switch
    {
        "simulated" => ModelProvider.Simulated,
        "openai" => ModelProvider.OpenAI,
        "anthropic" => ModelProvider.Anthropic,
        _ => throw new InvalidOperationException(
            $"Models:{modelName}:Provider is '{value}'; use 'simulated', 'openai' or 'anthropic'."),
    };

    private static string Require(string modelName, string? value, string key) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new InvalidOperationException($"Models:{modelName}:{key} must be set for this provider.")
            : value;
}

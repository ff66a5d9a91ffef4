using AgentApi.Tasks;

namespace AgentApi.Webhooks;

public static class WebhookExtensions
{
    public const int MinSecretLength = 16;

    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>()
            .Bind(configuration.GetSection(WebhookOptions.SectionName))
            .Validate(options => options.Secret is null || options.Secret.Length >= MinSecretLength,
                $"Webhooks:Secret must be at least {MinSecretLength} characters long.")
            .Validate(options => options.MaxAttempts is >= 1 and <= 50, "Webhooks:MaxAttempts must be between 1 and 50.")
            .Validate(options => options.Timeout > TimeSpan.Zero, "Webhooks:Timeout must be more than 0.")
            .Validate(options => options.RetryBaseDelay > TimeSpan.Zero && options.RetryMaxDelay >= options.RetryBaseDelay,
                "Webhooks:RetryBaseDelay must be more than 0 and Webhooks:RetryMaxDelay at least as long.")
            .ValidateOnStart();
        services.AddHttpClient(WebhookDeliveryJob.HttpClientName, client =>
            {
                // Webhooks:Timeout bounds each attempt.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("AgentApi-Webhooks/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(provider =>
                new WebhookConnections(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<WebhookOptions>>().Value.AllowedHosts).CreateHandler());
        services.AddTransient<WebhookDeliveryJob>();
        services.AddSingleton<ITaskOutcomeListener, WebhookTrigger>();
        return services;
    }
}

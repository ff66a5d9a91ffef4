namespace AgentApi.Heartbeat;

public static class HeartbeatExtensions
{
    public static IServiceCollection AddHeartbeat(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HeartbeatOptions>()
            .Bind(configuration.GetSection(HeartbeatOptions.SectionName))
            .Validate(options => options.PollInterval > TimeSpan.Zero, "Heartbeat:PollInterval must be more than 0.")
            .ValidateOnStart();
        services.AddSingleton<HeartbeatStore>();
        services.AddSingleton<HeartbeatSession>();
        services.AddSingleton<HeartbeatService>();
        services.AddHostedService(provider => provider.GetRequiredService<HeartbeatService>());
        return services;
    }
}

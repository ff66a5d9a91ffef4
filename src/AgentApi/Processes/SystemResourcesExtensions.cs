namespace AgentApi.Processes;

public static class SystemResourcesExtensions
{
    /// <summary>Registers <see cref="ISystemResourcesReader"/> as a singleton that reads the real <c>/proc</c> and <c>/sys</c>.</summary>
    public static IServiceCollection AddSystemResources(this IServiceCollection services)
    {
        services.AddSingleton<ISystemResourcesReader>(provider =>
            new SystemResourcesReader("/", provider.GetRequiredService<ILogger<SystemResourcesReader>>()));
        return services;
    }
}

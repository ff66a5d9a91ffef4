using AgentApi.Agents.Models;

namespace AgentApi.Agents;

public static class AgentExtensions
{
    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.AddSingleton<AgentCatalog>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<AgentRunner>();
        return services;
    }
}

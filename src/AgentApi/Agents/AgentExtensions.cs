using AgentApi.Agents.Models;
using AgentApi.Agents.Tools;

namespace AgentApi.Agents;

public static class AgentExtensions
{
    public static IServiceCollection AddAgents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<AgentCatalog>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<AgentRunner>();
        services.AddAgentTools(configuration);
        return services;
    }

    public static IEndpointRouteBuilder MapAgents(this IEndpointRouteBuilder endpoints)
    {
        return endpoints;
    }
}

using AgentApi.Agents.Models;
using AgentApi.Agents.Tools;

namespace AgentApi.Agents;

public static class AgentExtensions
{
    public static IServiceCollection AddAgents(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AgentCatalogOptions>(configuration.GetSection(AgentCatalogOptions.SectionName));
        services.AddSingleton<AgentCatalog>();
        services.AddHostedService<AgentCatalogStartup>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<AgentRunner>();
        services.AddAgentTools(configuration);
        return services;
    }

    public static IEndpointRouteBuilder MapAgents(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapAgentEndpoints();
        return endpoints;
    }
}

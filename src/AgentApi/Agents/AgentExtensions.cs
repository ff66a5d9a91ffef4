using AgentApi.Agents.Models;
using AgentApi.Agents.Sessions;
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
        services.AddSingleton<SessionStore>();
        services.AddOptions<AgentRunOptions>()
            .Bind(configuration.GetSection(AgentRunOptions.SectionName))
            .Validate(options => options.MaxTurns is >= 1 and <= 1000, "Agents:MaxTurns must be between 1 and 1000.")
            .Validate(options => options.MaxIdenticalToolCalls >= 2, "Agents:MaxIdenticalToolCalls must be 2 or more.")
            .Validate(options => options.MaxHistoryMessages >= 0, "Agents:MaxHistoryMessages must be 0 or more.")
            .Validate(options => options.ToolCallTimeout > TimeSpan.Zero, "Agents:ToolCallTimeout must be positive.")
            .ValidateOnStart();
        services.AddAgentTools(configuration);
        return services;
    }

    public static IEndpointRouteBuilder MapAgents(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapAgentEndpoints();
        endpoints.MapSessions();
        return endpoints;
    }
}

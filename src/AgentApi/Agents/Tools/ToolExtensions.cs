namespace AgentApi.Agents.Tools;

public static class ToolExtensions
{
    /// <summary>Registers the sandboxed tools and their settings under <c>Tools</c>.</summary>
    public static IServiceCollection AddAgentTools(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<ToolRegistry>();
        return services;
    }
}

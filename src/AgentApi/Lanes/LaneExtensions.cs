namespace AgentApi.Lanes;

public static class LaneExtensions
{
    public static IServiceCollection AddLanes(this IServiceCollection services)
    {
        services.AddSingleton<LaneCatalog>();
        return services;
    }
}

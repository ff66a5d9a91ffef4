namespace AgentApi.Dashboard;

public static class DashboardExtensions
{
    /// <summary>Registers the Razor dashboard and the readers its pages use.</summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddRazorPages();
        services.AddSingleton<TaskActivityReader>();
        services.AddSingleton<QueueDepthReader>();
        services.AddSingleton<TaskTreeReader>();
        return services;
    }
}

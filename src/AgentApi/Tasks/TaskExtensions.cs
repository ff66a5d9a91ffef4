namespace AgentApi.Tasks;

public static class TaskExtensions
{
    public static IServiceCollection AddTasks(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<TaskOptions>(configuration.GetSection(TaskOptions.SectionName));
        services.AddSingleton<TaskStore>();
        services.AddSingleton<TaskService>();
        services.AddSingleton<TaskSubmissionValidator>();
        services.AddSingleton<TaskJobScheduler>();
        services.AddSingleton<TaskRunner>();
        services.AddSingleton<RunningTaskRegistry>();
        services.AddTransient<RunTaskJob>();
        services.AddHostedService<TaskRecoveryService>();
        return services;
    }
}

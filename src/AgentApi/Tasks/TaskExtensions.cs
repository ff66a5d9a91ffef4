namespace AgentApi.Tasks;

public static class TaskExtensions
{
    public static IServiceCollection AddTasks(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<TaskOptions>(configuration.GetSection(TaskOptions.SectionName));
        services.Configure<LeaseOptions>(configuration.GetSection(LeaseOptions.SectionName));
        services.AddSingleton<InstanceIdentity>();
        services.AddSingleton<TaskIdGenerator>();
        services.AddSingleton<SessionGate>();
        services.AddSingleton<TaskStore>();
        services.AddSingleton<TaskService>();
        services.AddSingleton<TaskSubmissionValidator>();
        services.AddSingleton<TaskJobScheduler>();
        services.AddSingleton<TaskEnqueuer>();
        services.AddHostedService(provider => provider.GetRequiredService<TaskEnqueuer>());
        services.AddSingleton<TaskRunner>();
        services.AddSingleton<RunningTaskRegistry>();
        services.AddSingleton<TaskDispatch>();
        services.AddHostedService(provider => provider.GetRequiredService<TaskDispatch>());
        services.AddTransient<RunTaskJob>();
        services.AddHostedService<TaskRecoveryService>();
        services.AddHostedService<LeaseRenewalService>();
        return services;
    }
}

using AgentApi.Tasks.Supervision;

namespace AgentApi.Tasks;

public static class TaskExtensions
{
    public static IServiceCollection AddTasks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TaskOptions>()
            .Bind(configuration.GetSection(TaskOptions.SectionName))
            .Validate(options => options.MaxChildren is >= 1 and <= 10_000, "Tasks:MaxChildren must be between 1 and 10,000.")
            .Validate(options => options.MaxWaitingSpawns >= 1, "Tasks:MaxWaitingSpawns must be 1 or more.")
            .ValidateOnStart();
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
        services.AddSingleton<ChildTasks>();
        services.AddSingleton<ChildRunner>();
        services.AddSingleton<SubtaskPlanner>();
        services.AddSingleton<Supervisor>();

        // The runner runs supervised tasks, and the supervisor runs children through the runner.
        services.AddSingleton(provider => new Lazy<Supervisor>(provider.GetRequiredService<Supervisor>));
        services.AddSingleton<RunningTaskRegistry>();
        services.AddSingleton<TaskDispatch>();
        services.AddHostedService(provider => provider.GetRequiredService<TaskDispatch>());
        services.AddTransient<RunTaskJob>();
        services.AddHostedService<TaskRecoveryService>();
        services.AddHostedService<LeaseRenewalService>();
        return services;
    }
}

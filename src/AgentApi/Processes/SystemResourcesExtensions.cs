namespace AgentApi.Processes;

public static class SystemResourcesExtensions
{
    /// <summary>Registers <see cref="ISystemResourcesReader"/> as a singleton that reads the real <c>/proc</c> and <c>/sys</c>.</summary>
    public static IServiceCollection AddSystemResources(this IServiceCollection services)
    {
        services.AddSingleton<ISystemResourcesReader>(provider =>
            new SystemResourcesReader("/", provider.GetRequiredService<ILogger<SystemResourcesReader>>()));
        return services;
    }

    /// <summary>Registers the runner of process agents, the cgroups of their runs and the registry of running programs.</summary>
    public static IServiceCollection AddProcessAgents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProcessAgentOptions>()
            .Bind(configuration.GetSection(ProcessAgentOptions.SectionName))
            .Validate(options => options.MaxOutputChars >= 1, "Processes:MaxOutputChars must be 1 or more.")
            .Validate(options => options.MaxLineChars >= 1, "Processes:MaxLineChars must be 1 or more.")
            .Validate(options => options.MaxStandardErrorBytes >= 1, "Processes:MaxStandardErrorBytes must be 1 or more.")
            .Validate(options => Path.IsPathFullyQualified(options.CgroupRoot), "Processes:CgroupRoot must be a full path.")
            .ValidateOnStart();
        services.AddSingleton(provider => new ProcessCgroups(
            provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ProcessAgentOptions>>().Value.CgroupRoot,
            provider.GetRequiredService<ILogger<ProcessCgroups>>()));
        services.AddHostedService<LeftoverCgroupCleanup>();
        services.AddSingleton<RunningProcessRegistry>();
        services.AddSingleton<ProcessAgentRunner>();
        return services;
    }
}

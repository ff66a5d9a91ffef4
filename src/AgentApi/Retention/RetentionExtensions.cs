using Hangfire;

namespace AgentApi.Retention;

public static class RetentionExtensions
{
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.SectionName))
            .Validate(options => options.FinishedTaskAge >= TimeSpan.Zero, "Retention:FinishedTaskAge must be 0 (keep everything) or more.")
            .Validate(options => Cronos.CronExpression.TryParse(options.Cron, out _), "Retention:Cron must be a 5-field cron expression.")
            .ValidateOnStart();
        services.AddTransient<RetentionJob>();
        return services;
    }

    /// <summary>Registers the purge as a Hangfire recurring job, so that it shows, and can be triggered, in the Hangfire dashboard.</summary>
    public static WebApplication UseRetention(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RetentionOptions>>().Value;
        var jobs = app.Services.GetRequiredService<IRecurringJobManager>();
        jobs.AddOrUpdate<RetentionJob>(RetentionJob.RecurringJobId, Queues.QueueNames.Low, job => job.PurgeAsync(CancellationToken.None), options.Cron);
        return app;
    }
}

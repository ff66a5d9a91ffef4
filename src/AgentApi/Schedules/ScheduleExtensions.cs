using AgentApi.Storage;
using Npgsql;

namespace AgentApi.Schedules;

public static class ScheduleExtensions
{
    /// <summary>
    /// Registers schedules. Call it before <c>AddQueues</c>: hosted services start in order, and
    /// the start-up sweep must settle missed slots before the Hangfire server delivers new ones.
    /// </summary>
    public static IServiceCollection AddSchedules(this IServiceCollection services, IConfiguration configuration, StorageInfo storage)
    {
        services.AddOptions<ScheduleOptions>()
            .Bind(configuration.GetSection(ScheduleOptions.SectionName))
            .Validate(
                options => options.MissedAfter >= TimeSpan.FromSeconds(1) && options.MissedAfter <= TimeSpan.FromDays(1),
                "Schedules:MissedAfter must be between 00:00:01 and 1.00:00:00.")
            .Validate(
                options => options.SweepInterval >= TimeSpan.FromMilliseconds(100) && options.SweepInterval <= TimeSpan.FromHours(1),
                "Schedules:SweepInterval must be between 00:00:00.100 and 01:00:00.")
            .Validate(
                options => options.CatchUpWindow >= TimeSpan.FromMinutes(1) && options.CatchUpWindow <= TimeSpan.FromDays(366),
                "Schedules:CatchUpWindow must be between 00:01:00 and 366.00:00:00.")
            .Validate(
                options => options.MaxCatchUpRuns is >= 1 and <= 1000,
                "Schedules:MaxCatchUpRuns must be between 1 and 1000.")
            .Validate(options => options.MaxCount >= 1, "Schedules:MaxCount must be at least 1.")
            .ValidateOnStart();

        if (storage.Mode == StorageMode.Postgres)
        {
            services.AddSingleton<IScheduleLock>(provider => new PostgresScheduleLock(provider.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            services.AddSingleton<IScheduleLock, InProcessScheduleLock>();
        }

        services.AddSingleton<SlotCalendar>();
        services.AddSingleton<ScheduleValidator>();
        services.AddSingleton<ScheduleJobRegistry>();
        services.AddSingleton<ScheduleRunner>();
        services.AddSingleton<ScheduleService>();
        services.AddTransient<ScheduleRunJob>();
        services.AddHostedService<ScheduleSweepService>();
        return services;
    }
}

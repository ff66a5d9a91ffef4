namespace AgentApi.Retention;

/// <summary>How long finished work is kept, under <c>Retention</c>.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>
    /// Age after which a finished top-level task is deleted with its children, their events and
    /// the schedule runs older than that; 0 keeps everything. Defaults to 30 days.
    /// </summary>
    public TimeSpan FinishedTaskAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Cron expression of the purge, a Hangfire recurring job. Defaults to hourly at minute 17.</summary>
    public string Cron { get; set; } = "17 * * * *";
}

using AgentApi.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AgentApi.Schedules;

/// <summary>The <c>schedules</c> and <c>schedule_runs</c> tables.</summary>
internal static class ScheduleModelConfiguration
{
    /// <summary>The filter of the unique slot key: manual triggers are not slots, so any number may share a time.</summary>
    private const string SlotFilter = "\"trigger\" <> 'manual'";

    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Schedule>(ConfigureSchedule);
        modelBuilder.Entity<ScheduleRun>(ConfigureRun);
    }

    private static void ConfigureSchedule(EntityTypeBuilder<Schedule> schedule)
    {
        schedule.ToTable("schedules");
        schedule.HasKey(s => s.Id);
        schedule.Property(s => s.Id).HasMaxLength(64);
        schedule.Property(s => s.Cron).HasMaxLength(256);
        schedule.Property(s => s.TimeZone).HasMaxLength(64);
        schedule.Property(s => s.Overlap).HasConversion(WireNameConverter<OverlapPolicy>()).HasMaxLength(16);
        schedule.Property(s => s.CatchUp).HasConversion(WireNameConverter<CatchUpPolicy>()).HasMaxLength(16);
        schedule.Property(s => s.WebhookUrl).HasMaxLength(2048);
        schedule.Property(s => s.HangfireJobId).HasMaxLength(64);
        schedule.HasMany<ScheduleRun>().WithOne().HasForeignKey(run => run.ScheduleId).OnDelete(DeleteBehavior.Cascade);
    }

    private static void ConfigureRun(EntityTypeBuilder<ScheduleRun> run)
    {
        run.ToTable("schedule_runs");
        run.HasKey(r => r.Id);
        run.Property(r => r.ScheduleId).HasMaxLength(64);
        run.Property(r => r.Trigger).HasConversion(WireNameConverter<ScheduleRunTrigger>()).HasMaxLength(16);
        run.Property(r => r.Outcome).HasConversion(WireNameConverter<ScheduleRunOutcome>()).HasMaxLength(16);
        run.Property(r => r.HangfireJobId).HasMaxLength(64);

        // Exactly one row per slot, whichever instance or delivery writes it first.
        run.HasIndex(r => new { r.ScheduleId, r.ScheduledAt }, "ux_schedule_runs_slot")
            .HasDatabaseName("ux_schedule_runs_slot")
            .IsUnique()
            .HasFilter(SlotFilter);
        run.HasIndex(r => new { r.ScheduleId, r.ScheduledAt }, "ix_schedule_runs_schedule_id_scheduled_at")
            .HasDatabaseName("ix_schedule_runs_schedule_id_scheduled_at");
        run.HasIndex(r => r.HangfireJobId).IsUnique();
        run.HasIndex(r => r.TaskId);
    }

    private static ValueConverter<TEnum, string> WireNameConverter<TEnum>()
        where TEnum : struct, Enum =>
        new(value => WireNames<TEnum>.ToName(value), name => WireNames<TEnum>.Parse(name));
}

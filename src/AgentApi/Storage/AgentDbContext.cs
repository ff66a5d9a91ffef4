using AgentApi.Agents.Sessions;
using AgentApi.Schedules;
using AgentApi.Security;
using AgentApi.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AgentApi.Storage;

/// <summary>
/// AgentApi's own tables. Each database provider has a subclass so that each keeps its own
/// migrations under <c>migrations/</c>.
/// </summary>
public abstract class AgentDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<AgentTask> Tasks => Set<AgentTask>();

    public DbSet<TaskEvent> TaskEvents => Set<TaskEvent>();

    public DbSet<StoredApiKey> ApiKeys => Set<StoredApiKey>();

    public DbSet<SessionMessage> SessionMessages => Set<SessionMessage>();

    public DbSet<Heartbeat.HeartbeatState> Heartbeat => Set<Heartbeat.HeartbeatState>();

    public DbSet<Schedule> Schedules => Set<Schedule>();

    public DbSet<ScheduleRun> ScheduleRuns => Set<ScheduleRun>();

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        ReplaceNulCharacters();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>
    /// Replaces NUL characters in the free text about to be saved. PostgreSQL rejects them in
    /// text, and a model's reply or a tool's output can contain one; the API rejects them on the
    /// way in. JSON columns need nothing, because the serializer escapes NUL.
    /// </summary>
    private void ReplaceNulCharacters()
    {
        // Entries() would detect changes once more on top of the detection SaveChanges does.
        var autoDetect = ChangeTracker.AutoDetectChangesEnabled;
        ChangeTracker.AutoDetectChangesEnabled = false;
        try
        {
            foreach (var entry in ChangeTracker.Entries<AgentTask>())
            {
                var task = entry.Entity;
                task.Input = WithoutNul(task.Input);
                task.Name = WithoutNul(task.Name);
                task.ResultText = WithoutNul(task.ResultText);
                task.ErrorMessage = WithoutNul(task.ErrorMessage);
                task.ProgressMessage = WithoutNul(task.ProgressMessage);
            }

            foreach (var entry in ChangeTracker.Entries<SessionMessage>())
            {
                var message = entry.Entity;
                message.Text = WithoutNul(message.Text);
                message.ToolName = WithoutNul(message.ToolName);
                message.ToolCallId = WithoutNul(message.ToolCallId);
            }
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = autoDetect;
        }
    }

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    private static string? WithoutNul(string? text) =>
        text is not null && text.Contains('\0', StringComparison.Ordinal) ? text.Replace('\0', '\uFFFD') : text;

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AgentTask>(task =>
        {
            task.ToTable("tasks");
            task.HasKey(t => t.Id);
            task.Property(t => t.Status).HasConversion(WireNameConverter<AgentTaskStatus>()).HasMaxLength(16);
            task.Property(t => t.Priority).HasConversion(WireNameConverter<TaskPriority>()).HasMaxLength(16);
            task.Property(t => t.Coordination).HasConversion(WireNameConverter<TaskCoordination>()).HasMaxLength(16);
            task.Property(t => t.Agent).HasMaxLength(128);
            task.Property(t => t.Name).HasMaxLength(256);
            task.Property(t => t.Queue).HasMaxLength(32);
            task.Property(t => t.Lane).HasMaxLength(64);
            task.Property(t => t.SessionKey).HasMaxLength(256);
            task.Property(t => t.IdempotencyKey).HasMaxLength(256);
            task.Property(t => t.RequestHash).HasMaxLength(64);
            task.Property(t => t.HangfireJobId).HasMaxLength(64);
            task.Property(t => t.LeaseOwner).HasMaxLength(128);
            task.Property(t => t.ErrorType).HasMaxLength(64);
            task.Property(t => t.LastSequence).IsConcurrencyToken();
            task.Ignore(t => t.IsFinished);
            task.Ignore(t => t.TranscriptKey);
            task.HasIndex(t => t.IdempotencyKey).IsUnique();
            task.HasIndex(t => new { t.Status, t.Id });
            task.Property(t => t.Workspace).HasMaxLength(64);
            task.HasIndex(t => new { t.ParentId, t.SubtaskIndex }).IsUnique();
            task.HasIndex(t => t.RootId);
            task.HasIndex(t => t.LeaseOwner);
            task.HasIndex(t => new { t.SessionKey, t.Id });
            task.Property(t => t.Origin).HasMaxLength(32);
        });

        modelBuilder.Entity<Heartbeat.HeartbeatState>(heartbeat =>
        {
            heartbeat.ToTable("heartbeat");
            heartbeat.HasKey(h => h.Id);
            heartbeat.Property(h => h.Id).ValueGeneratedNever();
            heartbeat.Property(h => h.Agent).HasMaxLength(128);
            heartbeat.Property(h => h.Workspace).HasMaxLength(64);
            heartbeat.Property(h => h.ActiveStart).HasMaxLength(5);
            heartbeat.Property(h => h.ActiveEnd).HasMaxLength(5);
            heartbeat.Property(h => h.ActiveTimeZone).HasMaxLength(64);
            heartbeat.Property(h => h.LastOutcome).HasMaxLength(32);
            heartbeat.Property(h => h.Version).IsConcurrencyToken();
            heartbeat.Ignore(h => h.Every);
            heartbeat.Ignore(h => h.IsOn);
            heartbeat.Ignore(h => h.SessionKey);
        });

        modelBuilder.Entity<TaskEvent>(taskEvent =>
        {
            taskEvent.ToTable("task_events");
            taskEvent.HasKey(e => new { e.TaskId, e.Sequence });
            taskEvent.Property(e => e.Type).HasMaxLength(32);
        });

        modelBuilder.Entity<SessionMessage>(message =>
        {
            message.ToTable("session_messages");
            message.HasKey(m => m.Id);
            message.Property(m => m.SessionKey).HasMaxLength(256);
            message.Property(m => m.Agent).HasMaxLength(128);
            message.Property(m => m.Role).HasMaxLength(16);
            message.Property(m => m.ToolName).HasMaxLength(64);
            message.Property(m => m.ToolCallId).HasMaxLength(128);
            message.HasIndex(m => new { m.SessionKey, m.Id });
            message.HasIndex(m => new { m.Agent, m.Id });
        });

        modelBuilder.Entity<StoredApiKey>(key =>
        {
            key.ToTable("api_keys");
            key.HasKey(k => k.Name);
            key.Property(k => k.Name).HasMaxLength(64);
            key.Property(k => k.Hash).HasMaxLength(64);
            key.Property(k => k.Scopes).HasMaxLength(64);
            key.HasIndex(k => k.Hash).IsUnique();
        });

        ScheduleModelConfiguration.Configure(modelBuilder);
    }

    private static ValueConverter<TEnum, string> WireNameConverter<TEnum>()
        where TEnum : struct, Enum =>
        new(value => WireNames<TEnum>.ToName(value), name => WireNames<TEnum>.Parse(name));
}

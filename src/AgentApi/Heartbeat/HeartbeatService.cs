using AgentApi.Agents.Tools;
using AgentApi.Lanes;
using AgentApi.Storage;
using AgentApi.Tasks;
using Microsoft.Extensions.Options;

namespace AgentApi.Heartbeat;

/// <summary>
/// Runs the beats. Every instance runs this loop; the instance that first moves a due beat's
/// <see cref="HeartbeatState.NextBeatAt"/> on submits it, so each beat runs once.
/// </summary>
public sealed class HeartbeatService(
    HeartbeatStore store,
    HeartbeatSession session,
    TaskService tasks,
    TaskSubmissionValidator validator,
    WorkspaceProvider workspaces,
    IOptions<HeartbeatOptions> options,
    TimeProvider timeProvider,
    ILogger<HeartbeatService> logger) : DatabaseLoopService
{
    public const string Origin = "heartbeat";
    public const string TaskName = "heartbeat";

    private static readonly TimeSpan FailureDelay = TimeSpan.FromSeconds(5);

    /// <summary>Completed to wake the loop early, after the heartbeat was changed through this instance.</summary>
    private volatile TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void NotifyChanged() => _changed.TrySetResult();

    protected override ILogger StopLogger => logger;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                delay = await StepAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (StorageRetry.IsStorageFailure(exception))
            {
                HeartbeatLog.LoopFailed(logger, (long)FailureDelay.TotalMilliseconds, exception);
                delay = FailureDelay;
            }

            if (delay > TimeSpan.Zero)
            {
                var changed = _changed;
                using var sleep = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var delayed = Task.Delay(delay, timeProvider, sleep.Token);
                await Task.WhenAny(changed.Task, delayed);
                await sleep.CancelAsync();
                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                if (changed.Task.IsCompleted)
                {
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }
    }

    /// <summary>Does what is due now and returns how long to sleep.</summary>
    internal async Task<TimeSpan> StepAsync(CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(cancellationToken);
        session.Set(state.IsOn ? state.SessionKey : null);
        var poll = options.Value.PollInterval;
        if (!state.IsOn)
        {
            return poll;
        }

        // Submissions ask the database for beats to cancel only while one may be unfinished.
        session.SetBeatsMayBeUnfinished(await store.AnyUnfinishedBeatAsync(state.SessionKey, cancellationToken));

        var now = timeProvider.GetUtcNow();
        if (state.NextBeatAt is not { } due)
        {
            // The first beat comes one interval after the heartbeat is turned on.
            await store.TryUpdateAsync(state, stored => stored.NextBeatAt = now + state.Every, cancellationToken);
            return TimeSpan.Zero;
        }

        if (due > now)
        {
            return due - now < poll ? due - now : poll;
        }

        await BeatAsync(state, due, now, cancellationToken);
        return TimeSpan.Zero;
    }

    private async Task BeatAsync(HeartbeatState state, DateTimeOffset due, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var window = ToActiveHours(state);
        if (window is not null && !window.Contains(now))
        {
            var opens = window.NextStart(now);
            if (await store.TryUpdateAsync(state, stored => Skip(stored, opens, "skipped_inactive", now), cancellationToken) is not null)
            {
                HeartbeatLog.BeatSkipped(logger, "outside the active hours", opens);
            }

            return;
        }

        var next = now + state.Every;
        var checklist = HeartbeatChecklist.Load(state, workspaces.GetPath(state.Workspace));
        if (checklist is null)
        {
            if (await store.TryUpdateAsync(state, stored => Skip(stored, next, "skipped_empty", now), cancellationToken) is not null)
            {
                HeartbeatLog.BeatSkipped(logger, "the checklist is empty or has only headings", next);
            }

            return;
        }

        // Moving the next beat on first is the claim: only one instance succeeds.
        var claimed = await store.TryUpdateAsync(state, stored =>
        {
            stored.NextBeatAt = next;
            stored.LastBeatAt = now;
            stored.LastOutcome = "ran";
        }, cancellationToken);
        if (claimed is null)
        {
            return;
        }

        var request = new SubmitTaskRequest
        {
            Agent = state.Agent,
            Input = HeartbeatChecklist.Prompt(checklist),
            Name = TaskName,
            Lane = LaneNames.Cron,
            Priority = "low",
            SessionKey = state.SessionKey,
            Workspace = state.Workspace,
            WebhookUrl = state.WebhookUrl,
        };
        var errors = validator.Validate(request);
        if (errors.Count > 0)
        {
            HeartbeatLog.BeatRejected(logger, string.Join("; ", errors.Select(error => $"{error.Key}: {string.Join(" ", error.Value)}")));
            return;
        }

        // The key is the beat's slot, so a second submission of the same beat returns the first.
        session.SetBeatsMayBeUnfinished(true);
        var submitted = await tasks.SubmitAsync(request, $"heartbeat:{due.UtcTicks}", Origin, cancellationToken);
        HeartbeatLog.BeatStarted(logger, submitted.Task.Id, state.SessionKey);
        await store.TryUpdateAsync(claimed, stored => stored.LastTaskId = submitted.Task.Id, cancellationToken);
    }

    private static void Skip(HeartbeatState stored, DateTimeOffset next, string outcome, DateTimeOffset now)
    {
        stored.NextBeatAt = next;
        stored.LastBeatAt = now;
        stored.LastOutcome = outcome;
    }

    internal static ActiveHours? ToActiveHours(HeartbeatState state) =>
        state.ActiveStart is not null
        && ActiveHours.TryParseTime(state.ActiveStart, out var start)
        && ActiveHours.TryParseTime(state.ActiveEnd, out var end)
        && TimeZoneInfo.TryFindSystemTimeZoneById(state.ActiveTimeZone ?? "UTC", out var zone)
            ? new ActiveHours(start, end, zone)
            : null;
}

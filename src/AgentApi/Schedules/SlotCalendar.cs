using AgentApi.Tasks;

namespace AgentApi.Schedules;

/// <summary>
/// The schedule maths that depends on the clock: which slots are due, which are missed, and
/// whether an earlier run still blocks a slot. It reads the time only from the injected
/// <see cref="TimeProvider"/>, so tests can walk it through a daylight-saving change.
/// </summary>
public sealed class SlotCalendar(TimeProvider timeProvider)
{
    /// <summary>Most missed slots one sweep looks at; older ones beyond it are neither recorded nor run.</summary>
    public const int MaxMissedSlots = 1000;

    public DateTimeOffset Now => timeProvider.GetUtcNow();

    /// <summary>
    /// The slots after <paramref name="after"/> and at or before <paramref name="until"/> that
    /// are not older than <paramref name="window"/>, oldest first: at most
    /// <see cref="MaxMissedSlots"/>, the newest ones. <paramref name="skipped"/> counts the older
    /// slots left out.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> SlotsBetween(
        CronSchedule cron,
        TimeZoneInfo timeZone,
        DateTimeOffset after,
        DateTimeOffset until,
        TimeSpan window,
        out int skipped)
    {
        var windowStart = Now - window;
        var from = after > windowStart ? after : windowStart;
        var newest = new Queue<DateTimeOffset>();
        skipped = 0;
        foreach (var slot in cron.Between(from, until, timeZone))
        {
            newest.Enqueue(slot);
            if (newest.Count > MaxMissedSlots)
            {
                newest.Dequeue();
                skipped++;
            }
        }

        return newest.ToList();
    }

    /// <summary>The newest instant up to which an unrecorded slot counts as missed.</summary>
    public DateTimeOffset MissedUntil(TimeSpan missedAfter) => Now - missedAfter;

    /// <summary>Returns whether a slot is so late that the catch-up policy decides it.</summary>
    public bool IsLate(DateTimeOffset slot, TimeSpan missedAfter) => Now - slot > missedAfter;

    /// <summary>
    /// Returns whether an earlier run's task keeps a slot of an overlap-<c>skip</c> schedule from
    /// running: it is unfinished and its deadline has not passed. A task still marked running
    /// after its deadline (its process hung or died) no longer blocks later slots.
    /// </summary>
    public bool Blocks(AgentTaskStatus status, DateTimeOffset createdAt, int timeoutSeconds) =>
        !status.IsFinished() && Now < createdAt + TimeSpan.FromSeconds(timeoutSeconds);
}

using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentApi.Heartbeat;

/// <summary>Reads and writes the heartbeat row; every write checks <see cref="HeartbeatState.Version"/>.</summary>
public sealed class HeartbeatStore(IDbContextFactory<AgentDbContext> dbFactory)
{
    /// <summary>Returns the stored state, or the defaults when nothing was stored yet.</summary>
    public async Task<HeartbeatState> GetAsync(CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Heartbeat.AsNoTracking().FirstOrDefaultAsync(state => state.Id == HeartbeatState.SingletonId, cancellationToken)
            ?? new HeartbeatState();
    }

    /// <summary>Returns whether a beat of the session is queued or running.</summary>
    public async Task<bool> AnyUnfinishedBeatAsync(string sessionKey, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Tasks.AnyAsync(task => task.SessionKey == sessionKey
            && task.Origin == HeartbeatService.Origin
            && (task.Status == Tasks.AgentTaskStatus.Queued || task.Status == Tasks.AgentTaskStatus.Running), cancellationToken);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the state read as <paramref name="expected"/> and saves
    /// it. Returns the saved state, or null when another writer changed it first.
    /// </summary>
    public async Task<HeartbeatState?> TryUpdateAsync(HeartbeatState expected, Action<HeartbeatState> change, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var stored = await db.Heartbeat.FirstOrDefaultAsync(state => state.Id == HeartbeatState.SingletonId, cancellationToken);
        if (stored is null)
        {
            if (expected.Version != 0)
            {
                return null;
            }

            stored = new HeartbeatState();
            db.Heartbeat.Add(stored);
        }
        else if (stored.Version != expected.Version)
        {
            return null;
        }

        change(stored);
        stored.Version = expected.Version + 1;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return stored;
        }
        catch (DbUpdateException)
        {
            // Another instance inserted the row or raised its version first.
            return null;
        }
    }
}

using AgentApi.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Sessions;

/// <summary>
/// Reads session transcripts. A session exists once it has a message; a run's entries are stored
/// with its task's outcome, in the same transaction.
/// </summary>
public sealed class SessionStore(IDbContextFactory<AgentDbContext> dbFactory)
{
    /// <summary>The session's latest user and assistant texts, oldest first, for a new run to continue the conversation.</summary>
    public async Task<IReadOnlyList<ChatMessage>> LoadHistoryAsync(string sessionKey, int maxMessages, CancellationToken cancellationToken)
    {
        if (maxMessages <= 0)
        {
            return [];
        }

        await using var db = dbFactory.CreateDbContext();
        var latest = await db.SessionMessages.AsNoTracking()
            .Where(message => message.SessionKey == sessionKey && message.ToolName == null && message.Text != null
                && (message.Role == "user" || message.Role == "assistant"))
            .OrderByDescending(message => message.Id)
            .Take(maxMessages)
            .Select(message => new { message.Role, message.Text })
            .ToListAsync(cancellationToken);
        latest.Reverse();
        return latest.Select(message => new ChatMessage(new ChatRole(message.Role), message.Text)).ToList();
    }

    /// <summary>Sessions with the newest activity first, optionally of one agent.</summary>
    public async Task<IReadOnlyList<SessionSummaryResponse>> ListAsync(string? agent, int limit, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var messages = db.SessionMessages.AsNoTracking();
        if (agent is not null)
        {
            messages = messages.Where(message => message.Agent == agent);
        }

        var groups = await messages
            .GroupBy(message => message.SessionKey)
            .Select(group => new { Key = group.Key, Count = group.Count(), FirstId = group.Min(m => m.Id), LastId = group.Max(m => m.Id) })
            .OrderByDescending(group => group.LastId)
            .Take(limit)
            .ToListAsync(cancellationToken);

        var ids = groups.SelectMany(group => new[] { group.FirstId, group.LastId }).ToList();
        var edges = await db.SessionMessages.AsNoTracking()
            .Where(message => ids.Contains(message.Id))
            .Select(message => new { message.Id, message.Agent, message.CreatedAt })
            .ToDictionaryAsync(message => message.Id, cancellationToken);

        return groups.Select(group => new SessionSummaryResponse(
            group.Key,
            edges[group.FirstId].Agent,
            SessionKeys.KindOf(group.Key),
            group.Count,
            edges[group.FirstId].CreatedAt,
            edges[group.LastId].CreatedAt)).ToList();
    }

    /// <summary>Up to <paramref name="limit"/> transcript entries after <paramref name="after"/>; null when the session has none at all.</summary>
    public async Task<SessionResponse?> GetAsync(string key, long after, int limit, CancellationToken cancellationToken)
    {
        await using var db = dbFactory.CreateDbContext();
        var page = await db.SessionMessages.AsNoTracking()
            .Where(message => message.SessionKey == key && message.Id > after)
            .OrderBy(message => message.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);

        string? agent = page.FirstOrDefault()?.Agent;
        if (agent is null)
        {
            agent = await db.SessionMessages.AsNoTracking()
                .Where(message => message.SessionKey == key)
                .Select(message => message.Agent)
                .FirstOrDefaultAsync(cancellationToken);
            if (agent is null)
            {
                return null;
            }
        }

        var hasMore = page.Count > limit;
        if (hasMore)
        {
            page.RemoveAt(page.Count - 1);
        }

        return new SessionResponse(key, agent, SessionKeys.KindOf(key), page.Select(ToResponse).ToList(), hasMore ? page[^1].Id : null);
    }

    private static SessionMessageResponse ToResponse(SessionMessage message) => new(
        message.Id,
        message.TaskId,
        message.Role,
        message.Text,
        message.ToolName is null
            ? null
            : new SessionToolCallResponse(
                message.ToolName,
                message.ToolCallId,
                message.ToolArgumentsJson is null ? null : System.Text.Json.JsonDocument.Parse(message.ToolArgumentsJson).RootElement.Clone(),
                message.IsError),
        message.CreatedAt);
}

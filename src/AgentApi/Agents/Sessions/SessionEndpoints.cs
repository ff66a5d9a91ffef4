using AgentApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentApi.Agents.Sessions;

public static class SessionEndpoints
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/sessions")
            .WithTags("Sessions")
            .RequireAuthorization(AuthorizationPolicies.Read);

        group.MapGet("/", ListAsync)
            .WithSummary("List sessions, the most recently active first.")
            .ProducesValidationProblem();
        // A catch-all, so that keys with '/' (sent as is or as %2F) can be read as well as listed.
        group.MapGet("/{**key}", GetAsync)
            .WithSummary("Get a session's transcript: messages, tool calls and tool results, oldest first.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return endpoints;
    }

    private static async Task<Results<Ok<SessionPageResponse>, ValidationProblem>> ListAsync(
        string? agent,
        string? limit,
        SessionStore sessions,
        CancellationToken cancellationToken)
    {
        Dictionary<string, string[]> errors = [];
        if (agent is not null && (agent.Length is 0 or > 128 || agent.Any(char.IsControl)))
        {
            errors["agent"] = ["Must be an agent name: 1 to 128 characters without control characters."];
        }

        var pageSize = ParseLimit(limit, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The session query is invalid");
        }

        return TypedResults.Ok(new SessionPageResponse(await sessions.ListAsync(agent, pageSize, cancellationToken)));
    }

    private static async Task<Results<Ok<SessionResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        string key,
        string? after,
        string? limit,
        SessionStore sessions,
        CancellationToken cancellationToken)
    {
        // The request path keeps an encoded slash encoded, so %2F is turned back into the '/' it stands for.
        key = key.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        Dictionary<string, string[]> errors = [];
        long afterId = 0;
        if (after is not null && (!long.TryParse(after, out afterId) || afterId < 0))
        {
            errors["after"] = ["Must be a whole number, 0 or more: the id of the last message already read."];
        }

        var pageSize = ParseLimit(limit, errors);
        if (key.Length > 256 || key.Any(char.IsControl))
        {
            errors["key"] = ["Must be a session key: at most 256 characters without control characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The session query is invalid");
        }

        var session = await sessions.GetAsync(key, afterId, pageSize, cancellationToken);
        return session is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Session not found",
                detail: $"No session '{key}' has any message yet.")
            : TypedResults.Ok(session);
    }

    private static int ParseLimit(string? limit, Dictionary<string, string[]> errors)
    {
        var pageSize = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize < 1 || pageSize > MaxPageSize))
        {
            errors["limit"] = [$"Must be a whole number from 1 to {MaxPageSize}."];
        }

        return pageSize;
    }
}

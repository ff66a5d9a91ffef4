using AgentApi.Agents.Files;
using AgentApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentApi.Agents;

public static class AgentEndpoints
{
    /// <summary>Maps <c>GET /api/agents</c> and <c>GET /api/agents/{name}</c>, both behind the <c>read</c> policy.</summary>
    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/agents")
            .WithTags("Agents")
            .RequireAuthorization(AuthorizationPolicies.Read);

        group.MapGet("/", (AgentCatalog catalog) => TypedResults.Ok(AgentListResponse.From(catalog.Current)))
            .WithSummary("List the agents tasks may name, sorted by name, and the agent files that were skipped.");

        group.MapGet("/{name}", GetAgent)
            .WithSummary("Get one agent with its system prompt.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return endpoints;
    }

    private static Results<Ok<AgentResponse>, ProblemHttpResult> GetAgent(string name, AgentCatalog catalog)
    {
        var snapshot = catalog.Current;
        if (snapshot.Find(name) is { } agent)
        {
            return TypedResults.Ok(AgentResponse.From(agent));
        }

        return TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Agent not found",
            detail: $"No agent is named '{AgentFileText.Quote(name)}'. Known agents: {string.Join(", ", snapshot.Names)}.");
    }
}

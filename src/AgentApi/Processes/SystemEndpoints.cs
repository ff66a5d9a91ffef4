using AgentApi.Security;

namespace AgentApi.Processes;

public static class SystemEndpoints
{
    /// <summary>Maps <c>GET /api/system/resources</c> behind the <c>read</c> policy.</summary>
    public static IEndpointRouteBuilder MapSystem(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/system")
            .WithTags("System")
            .RequireAuthorization(AuthorizationPolicies.Read);

        group.MapGet("/resources", (ISystemResourcesReader reader) => TypedResults.Ok(reader.Read()))
            .WithSummary("Get the processor count, CPU affinity and cgroup limits the service runs under; null fields are not limited or do not apply.");

        return endpoints;
    }
}

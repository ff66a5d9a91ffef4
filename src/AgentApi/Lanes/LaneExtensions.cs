using AgentApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentApi.Lanes;

public static class LaneExtensions
{
    public static IServiceCollection AddLanes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LaneDispatcherOptions>()
            .Bind(configuration.GetSection(LaneDispatcherOptions.SectionName))
            .Validate(
                options => IsWithinDay(options.AgeingInterval),
                $"Dispatcher:AgeingInterval must be from 00:00:00 (ageing off) to {MaxDispatcherInterval}.")
            .Validate(
                options => IsWithinDay(options.WaitLogThreshold),
                $"Dispatcher:WaitLogThreshold must be from 00:00:00 (no long-wait log) to {MaxDispatcherInterval}.")
            .Validate(
                options => IsWithinDay(options.ShutdownGracePeriod),
                $"Dispatcher:ShutdownGracePeriod must be from 00:00:00 to {MaxDispatcherInterval}.")
            .ValidateOnStart();
        services.AddSingleton<LaneCatalog>();
        services.AddSingleton<LaneMetrics>();
        services.AddSingleton(provider => new LaneDispatcher(
            provider.GetRequiredService<LaneCatalog>().InitialLimits,
            provider.GetRequiredService<IOptions<LaneDispatcherOptions>>().Value,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<LaneDispatcher>>(),
            provider.GetRequiredService<LaneMetrics>()));
        return services;
    }

    /// <summary>
    /// The maximum dispatcher interval. Timers and waits accept at most about 24.8 days, and a day
    /// is already longer than any shutdown a host waits for.
    /// </summary>
    private static readonly TimeSpan MaxDispatcherInterval = TimeSpan.FromDays(1);

    private static bool IsWithinDay(TimeSpan value) => value >= TimeSpan.Zero && value <= MaxDispatcherInterval;

    public static IEndpointRouteBuilder MapLanes(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/lanes").WithTags("Lanes").RequireAuthorization(AuthorizationPolicies.Read);

        group.MapGet("/", (LaneDispatcher dispatcher) =>
                TypedResults.Ok(dispatcher.GetSnapshots().Select(LaneResponse.From).ToList()))
            .WithSummary("List the lanes with their limits, load and wait times.");

        group.MapGet("/{name}", GetLane).WithSummary("Get one lane.");

        group.MapPut("/{name}", SetLimit)
            .RequireAuthorization(AuthorizationPolicies.Admin)
            .WithSummary("Change a lane's concurrency limit at once; 0 pauses the lane.")
            .ProducesValidationProblem();

        return endpoints;
    }

    private static Results<Ok<LaneResponse>, ProblemHttpResult> GetLane(string name, LaneDispatcher dispatcher) =>
        dispatcher.GetSnapshot(name) is { } snapshot ? TypedResults.Ok(LaneResponse.From(snapshot)) : LaneNotFound(name, dispatcher);

    private static Results<Ok<LaneResponse>, ValidationProblem, ProblemHttpResult> SetLimit(
        string name,
        UpdateLaneRequest request,
        LaneDispatcher dispatcher)
    {
        if (!dispatcher.HasLane(name))
        {
            return LaneNotFound(name, dispatcher);
        }

        if (request.MaxConcurrent is not { } limit || limit < 0 || limit > UpdateLaneRequest.MaxLimit)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]>
                {
                    ["maxConcurrent"] = [$"Required: a whole number from 0 (paused) to {UpdateLaneRequest.MaxLimit}."],
                },
                title: "The lane update is invalid");
        }

        dispatcher.TrySetLimit(name, limit);
        return TypedResults.Ok(LaneResponse.From(dispatcher.GetSnapshot(name)!));
    }

    private static ProblemHttpResult LaneNotFound(string name, LaneDispatcher dispatcher) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Lane not found",
            detail: $"No lane is named '{(name.Length > 64 ? name[..64] + "…" : name)}'. Declared lanes: {string.Join(", ", dispatcher.LaneNames)}.");
}

using AgentApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentApi.Schedules;

public static class ScheduleEndpoints
{
    private const int DefaultRunPage = 100;
    private const int MaxRunPage = 1000;

    /// <summary>Maps <c>/api/schedules</c>: reading needs the <c>read</c> scope, a trigger <c>submit</c>, and every change <c>admin</c>.</summary>
    public static IEndpointRouteBuilder MapSchedules(this IEndpointRouteBuilder endpoints)
    {
        // Each route names its own scope, because policies on the group would have to hold as well.
        var group = endpoints.MapGroup("/api/schedules").WithTags("Schedules");

        group.MapPost("/", CreateAsync)
            .RequireAuthorization(AuthorizationPolicies.Admin)
            .WithSummary("Create a schedule: a task run at each slot of a cron expression, or once at a given time.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/", ListAsync).RequireAuthorization(AuthorizationPolicies.Read).WithSummary("List the schedules with their next and last run.");
        group.MapGet("/{id}", GetAsync).RequireAuthorization(AuthorizationPolicies.Read).WithSummary("Get one schedule with its next and last run.");

        group.MapPut("/{id}", UpdateAsync)
            .RequireAuthorization(AuthorizationPolicies.Admin)
            .WithSummary("Replace a schedule's definition; send the whole schedule.")
            .ProducesValidationProblem();

        group.MapDelete("/{id}", DeleteAsync)
            .RequireAuthorization(AuthorizationPolicies.Admin)
            .WithSummary("Delete a schedule, its runs and its Hangfire job; its tasks stay.");

        group.MapPost("/{id}/trigger", TriggerAsync)
            .RequireAuthorization(AuthorizationPolicies.Submit)
            .WithSummary("Run the schedule once now; the next scheduled slot stays where it was.")
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapGet("/{id}/runs", GetRunsAsync)
            .RequireAuthorization(AuthorizationPolicies.Read)
            .WithSummary("List the schedule's runs, newest slot first: slots that ran, were skipped or were missed, and manual triggers.")
            .ProducesValidationProblem();

        return endpoints;
    }

    private static async Task<Results<Created<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        ScheduleRequest request,
        ScheduleValidator validator,
        ScheduleService schedules,
        IOptions<ScheduleOptions> options,
        CancellationToken cancellationToken)
    {
        var errors = validator.Validate(request, routeId: null, out var definition);
        if (definition is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The schedule is invalid");
        }

        // NOTE: two creates at the same moment can both pass this check, so the count can end
        // one or two above the limit.
        var maxCount = options.Value.MaxCount;
        if (await schedules.CountAsync(cancellationToken) >= maxCount)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Too many schedules",
                detail: $"The service already keeps {maxCount} schedules, the most that Schedules:MaxCount allows; delete one or raise the setting.");
        }

        if (await schedules.CreateAsync(definition, cancellationToken) is not { } created)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Schedule id taken",
                detail: $"A schedule with id '{definition.Id}' exists; change it with PUT /api/schedules/{definition.Id} or choose another id.");
        }

        return TypedResults.Created($"/api/schedules/{created.Id}", created);
    }

    private static async Task<Ok<IReadOnlyList<ScheduleResponse>>> ListAsync(ScheduleService schedules, CancellationToken cancellationToken) =>
        TypedResults.Ok(await schedules.ListAsync(cancellationToken));

    private static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> GetAsync(
        string id,
        ScheduleService schedules,
        CancellationToken cancellationToken) =>
        await schedules.GetAsync(id, cancellationToken) is { } schedule ? TypedResults.Ok(schedule) : ScheduleNotFound(id);

    private static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string id,
        ScheduleRequest request,
        ScheduleValidator validator,
        ScheduleService schedules,
        CancellationToken cancellationToken)
    {
        if (!ScheduleValidator.IsValidId(id))
        {
            return ScheduleNotFound(id);
        }

        var errors = validator.Validate(request, routeId: id, out var definition);
        if (definition is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The schedule is invalid");
        }

        return await schedules.UpdateAsync(definition, cancellationToken) is { } updated ? TypedResults.Ok(updated) : ScheduleNotFound(id);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string id,
        ScheduleService schedules,
        CancellationToken cancellationToken) =>
        await schedules.DeleteAsync(id, cancellationToken) ? TypedResults.NoContent() : ScheduleNotFound(id);

    private static async Task<Results<Accepted<ScheduleTriggerResponse>, ProblemHttpResult>> TriggerAsync(
        string id,
        ScheduleService schedules,
        ScheduleRunner runner,
        CancellationToken cancellationToken)
    {
        if (await schedules.FindLiveAsync(id, cancellationToken) is not { } schedule)
        {
            return ScheduleNotFound(id);
        }

        var result = await runner.TriggerAsync(schedule, hangfireJobId: null, cancellationToken);
        if (result.Run is not { TaskId: { } taskId } run)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "The schedule could not run",
                detail: result.Problem);
        }

        return TypedResults.Accepted($"/api/tasks/{taskId}", new ScheduleTriggerResponse(taskId, run.Id));
    }

    private static async Task<Results<Ok<IReadOnlyList<ScheduleRunResponse>>, ValidationProblem, ProblemHttpResult>> GetRunsAsync(
        string id,
        string? limit,
        ScheduleService schedules,
        CancellationToken cancellationToken)
    {
        var pageSize = DefaultRunPage;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize < 1 || pageSize > MaxRunPage))
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["limit"] = [$"Must be a whole number from 1 to {MaxRunPage}."] },
                title: "The run query is invalid");
        }

        return await schedules.GetRunsAsync(id, pageSize, cancellationToken) is { } runs ? TypedResults.Ok(runs) : ScheduleNotFound(id);
    }

    private static ProblemHttpResult ScheduleNotFound(string id) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Schedule not found",
            detail: $"No schedule has id '{(id.Length > 64 ? id[..64] + "…" : id)}'.");
}

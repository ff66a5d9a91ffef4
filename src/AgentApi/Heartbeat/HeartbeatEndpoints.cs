using System.Text.Json;
using AgentApi.Agents.Tools;
using AgentApi.Agents;
using AgentApi.Errors;
using AgentApi.Security;
using AgentApi.Tasks;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentApi.Heartbeat;

public static class HeartbeatEndpoints
{
    public const int MaxChecklistItems = 100;
    private const int MaxWriteAttempts = 5;
    public const int MaxChecklistItemLength = 2_000;
    public static readonly TimeSpan MinEvery = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxEvery = TimeSpan.FromDays(7);

    public static IEndpointRouteBuilder MapHeartbeat(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/heartbeat").WithTags("Heartbeat").RequireAuthorization(AuthorizationPolicies.Read);

        group.MapGet("/", async (HeartbeatStore store, CancellationToken cancellationToken) =>
                TypedResults.Ok(HeartbeatResponse.From(await store.GetAsync(cancellationToken))))
            .WithSummary("Get the heartbeat: how often it beats, its agent, checklist and active hours, and its next beat.");

        group.MapPut("/", UpdateAsync)
            .RequireAuthorization(AuthorizationPolicies.Admin)
            .WithSummary("Change the heartbeat; fields left out keep their values, and 'every' 0 turns it off.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        return endpoints;
    }

    private static async Task<Results<Ok<HeartbeatResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        UpdateHeartbeatRequest request,
        HeartbeatStore store,
        HeartbeatService service,
        AgentCatalog agents,
        TaskSubmissionValidator validator,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var errors = Validate(request, agents, validator, out var every);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The heartbeat settings are invalid");
        }

        // A beat may move the row on meanwhile; the change is applied again to what it left.
        HeartbeatState? saved = null;
        for (var attempt = 0; attempt < MaxWriteAttempts && saved is null; attempt++)
        {
            var current = await store.GetAsync(cancellationToken);
            var now = timeProvider.GetUtcNow();
            saved = await store.TryUpdateAsync(current, state => Apply(state, request, every, now), cancellationToken);
        }

        if (saved is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The heartbeat changed meanwhile",
                detail: "Another request or a beat changed the heartbeat while this one was applied; send the request again.");
        }

        service.NotifyChanged();
        return TypedResults.Ok(HeartbeatResponse.From(saved));
    }

    private static void Apply(HeartbeatState state, UpdateHeartbeatRequest request, TimeSpan? every, DateTimeOffset now)
    {
        var timingChanged = false;
        if (request.Enabled is { } enabled)
        {
            timingChanged |= enabled != state.Enabled;
            state.Enabled = enabled;
        }

        if (every is { } interval)
        {
            timingChanged |= (long)interval.TotalMilliseconds != state.EveryMs;
            state.EveryMs = (long)interval.TotalMilliseconds;
        }

        state.Agent = request.Agent ?? state.Agent;
        state.Workspace = request.Workspace ?? state.Workspace;
        // An empty string removes the webhook, and null keeps it.
        if (request.WebhookUrl is not null)
        {
            state.WebhookUrl = request.WebhookUrl.Length == 0 ? null : request.WebhookUrl;
        }
        if (request.Checklist is not null)
        {
            state.ChecklistJson = request.Checklist.Count == 0 ? null : JsonSerializer.Serialize(request.Checklist);
        }

        if (request.ActiveHours is { } window)
        {
            state.ActiveStart = window.Start;
            state.ActiveEnd = window.End;
            state.ActiveTimeZone = window.TimeZone ?? "UTC";
            timingChanged = true;
        }
        else if (request.ClearActiveHours == true)
        {
            state.ActiveStart = state.ActiveEnd = state.ActiveTimeZone = null;
            timingChanged = true;
        }

        if (timingChanged)
        {
            // A new interval or window counts from now.
            state.NextBeatAt = state.IsOn ? now + state.Every : null;
        }
    }

    private static Dictionary<string, string[]> Validate(
        UpdateHeartbeatRequest request,
        AgentCatalog agents,
        TaskSubmissionValidator validator,
        out TimeSpan? every)
    {
        Dictionary<string, string[]> errors = [];
        every = null;
        if (request.Every is not null)
        {
            if (!HeartbeatDuration.TryParse(request.Every, out var parsed) || (parsed != TimeSpan.Zero && (parsed < MinEvery || parsed > MaxEvery)))
            {
                errors["every"] = [$"Must be 0 (off) or a duration from 1s to 7d such as '30m', '1h30m' or 'PT30M'; got '{MessageText.Quote(request.Every)}'."];
            }
            else
            {
                every = parsed;
            }
        }

        if (request.Agent is not null && agents.Current.Find(request.Agent) is null)
        {
            errors["agent"] = [$"Agent '{MessageText.Quote(request.Agent)}' was not found; GET /api/agents lists the agents."];
        }

        if (request.Workspace is not null && !WorkspaceProvider.IsValidName(request.Workspace))
        {
            errors["workspace"] = ["Must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', other than '.' and '..'."];
        }

        if (request.Checklist is { } checklist)
        {
            if (checklist.Count > MaxChecklistItems)
            {
                errors["checklist"] = [$"At most {MaxChecklistItems} items."];
            }
            else if (checklist.Any(item => string.IsNullOrWhiteSpace(item) || item.Length > MaxChecklistItemLength || item.Any(c => char.IsControl(c) && c != '\n' && c != '\t')))
            {
                errors["checklist"] = [$"Each item must be 1 to {MaxChecklistItemLength} characters of text without control characters other than newlines and tabs."];
            }
        }

        if (request.ActiveHours is { } window)
        {
            if (!ActiveHours.TryParseTime(window.Start, out _))
            {
                errors["activeHours.start"] = [$"Must be a time of day as HH:mm, such as 08:00; got '{MessageText.Quote(window.Start)}'."];
            }

            if (!ActiveHours.TryParseTime(window.End, out _))
            {
                errors["activeHours.end"] = [$"Must be a time of day as HH:mm, such as 22:00; got '{MessageText.Quote(window.End)}'."];
            }

            if (window.TimeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(window.TimeZone, out _))
            {
                errors["activeHours.timeZone"] = [$"Time zone '{MessageText.Quote(window.TimeZone)}' is unknown; use an IANA id such as 'Europe/Berlin' or 'UTC'."];
            }
        }

        if (request.WebhookUrl is { Length: > 0 })
        {
            var webhookErrors = validator.Validate(new SubmitTaskRequest { Input = "heartbeat", WebhookUrl = request.WebhookUrl });
            if (webhookErrors.TryGetValue("webhookUrl", out var messages))
            {
                errors["webhookUrl"] = messages;
            }
        }

        return errors;
    }
}

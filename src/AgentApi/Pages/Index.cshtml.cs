using AgentApi.Dashboard;
using AgentApi.Lanes;
using AgentApi.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

/// <summary>The dashboard's overview: lanes, queue depths and the last hour's task activity.</summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class IndexModel(
    LaneDispatcher dispatcher,
    QueueDepthReader queueDepths,
    TaskActivityReader activityReader,
    IAuthorizationService authorization) : PageModel
{
    public IReadOnlyList<LaneResponse> Lanes { get; private set; } = [];

    public DashboardActivity Activity { get; private set; } = null!;

    /// <summary>Whether the caller's key has the admin scope that changing a lane limit needs.</summary>
    public bool CanChangeLimits { get; private set; }

    /// <summary>Why the last lane limit form was rejected, for the form posted without JavaScript.</summary>
    public string? LaneError { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken);

    /// <summary>Returns the queue depths and the activity chart as HTML, for the page's periodic refresh.</summary>
    public async Task<PartialViewResult> OnGetActivityAsync(CancellationToken cancellationToken) =>
        Partial("_Activity", await ReadActivityAsync(cancellationToken));

    /// <summary>Sets a lane's limit from the form when it is posted without JavaScript; the script calls <c>PUT /api/lanes/{name}</c>.</summary>
    public async Task<IActionResult> OnPostLaneLimitAsync(string? lane, string? maxConcurrent, CancellationToken cancellationToken)
    {
        if (!(await authorization.AuthorizeAsync(User, AuthorizationPolicies.Admin)).Succeeded)
        {
            return await RejectAsync(StatusCodes.Status403Forbidden, "Changing a lane limit needs an API key with the admin scope.", cancellationToken);
        }

        if (lane is null || !dispatcher.HasLane(lane))
        {
            return await RejectAsync(
                StatusCodes.Status404NotFound,
                $"No lane is named '{lane}'. Declared lanes: {string.Join(", ", dispatcher.LaneNames)}.",
                cancellationToken);
        }

        if (!int.TryParse(maxConcurrent, out var limit) || limit < 0 || limit > UpdateLaneRequest.MaxLimit)
        {
            return await RejectAsync(
                StatusCodes.Status400BadRequest,
                $"The limit of lane '{lane}' must be a whole number from 0 (paused) to {UpdateLaneRequest.MaxLimit}.",
                cancellationToken);
        }

        dispatcher.TrySetLimit(lane, limit);
        return RedirectToPage();
    }

    private async Task<PageResult> RejectAsync(int statusCode, string message, CancellationToken cancellationToken)
    {
        LaneError = message;
        Response.StatusCode = statusCode;
        await LoadAsync(cancellationToken);
        return Page();
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        ViewData["Section"] = "overview";
        Lanes = dispatcher.GetSnapshots().Select(LaneResponse.From).ToList();
        CanChangeLimits = (await authorization.AuthorizeAsync(User, AuthorizationPolicies.Admin)).Succeeded;
        Activity = await ReadActivityAsync(cancellationToken);
    }

    private async Task<DashboardActivity> ReadActivityAsync(CancellationToken cancellationToken) =>
        new(queueDepths.Read(), await activityReader.ReadAsync(cancellationToken));
}

using AgentApi.Agents;
using AgentApi.Dashboard;
using AgentApi.Lanes;
using AgentApi.Security;
using AgentApi.Tasks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

/// <summary>The task list, filtered like <c>GET /api/tasks</c>, and the form that submits a task.</summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class TasksModel(
    TaskService tasks,
    TaskSubmissionValidator validator,
    AgentCatalog agents,
    LaneDispatcher lanes,
    IAuthorizationService authorization) : PageModel
{
    private const int PageSize = 50;
    private const int MaxAgentLength = 128;

    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Agent { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public TaskPageResponse List { get; private set; } = new([], null);

    /// <summary>Problems with the query string, by the API's parameter names.</summary>
    public Dictionary<string, string[]> FilterErrors { get; private set; } = [];

    /// <summary>The last submission posted without JavaScript, shown again with its errors.</summary>
    public TaskSubmissionForm Submission { get; private set; } = new();

    /// <summary>Problems with that submission, by the API's field names such as <c>input</c> or <c>subtasks[0].input</c>.</summary>
    public Dictionary<string, string[]> SubmissionErrors { get; private set; } = [];

    public IReadOnlyList<string> AgentNames { get; private set; } = [];

    public IReadOnlyList<string> LaneNames { get; private set; } = [];

    /// <summary>Whether the caller's key has the submit scope.</summary>
    public bool CanSubmit { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken);

    /// <summary>Returns the table rows alone, for the page's script to swap in.</summary>
    public async Task<PartialViewResult> OnGetRowsAsync(CancellationToken cancellationToken)
    {
        await LoadListAsync(cancellationToken);
        return Partial("_TaskRows", List);
    }

    /// <summary>Submits the form posted without JavaScript; the script posts to <c>/api/tasks</c> instead.</summary>
    public async Task<IActionResult> OnPostSubmitAsync([FromForm] TaskSubmissionForm form, CancellationToken cancellationToken)
    {
        Submission = form;
        if (!(await authorization.AuthorizeAsync(User, AuthorizationPolicies.Submit)).Succeeded)
        {
            SubmissionErrors[string.Empty] = ["Submitting a task needs an API key with the submit scope."];
            Response.StatusCode = StatusCodes.Status403Forbidden;
            await LoadAsync(cancellationToken);
            return Page();
        }

        var request = form.ToRequest();
        SubmissionErrors = validator.Validate(request);
        if (SubmissionErrors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await LoadAsync(cancellationToken);
            return Page();
        }

        var submission = await tasks.SubmitAsync(request, idempotencyKey: null, cancellationToken);
        return RedirectToPage("/TaskDetail", new { id = submission.Task.Id });
    }

    /// <summary>Returns the messages for a form field, including those of its nested fields such as <c>subtasks[0].input</c>.</summary>
    public IEnumerable<string> ErrorsFor(string field) =>
        SubmissionErrors
            .Where(pair => pair.Key == field || pair.Key.StartsWith(field + "[", StringComparison.Ordinal))
            .SelectMany(pair => pair.Key == field ? pair.Value : pair.Value.Select(message => $"{pair.Key}: {message}"));

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        ViewData["Section"] = "tasks";
        AgentNames = agents.Names.ToList();
        LaneNames = lanes.LaneNames.ToList();
        CanSubmit = (await authorization.AuthorizeAsync(User, AuthorizationPolicies.Submit)).Succeeded;
        await LoadListAsync(cancellationToken);
    }

    private async Task LoadListAsync(CancellationToken cancellationToken)
    {
        AgentTaskStatus? status = null;
        if (Status is not null)
        {
            if (WireNames<AgentTaskStatus>.TryParse(Status, out var parsed))
            {
                status = parsed;
            }
            else
            {
                FilterErrors["status"] = [$"Use one of {string.Join(", ", WireNames<AgentTaskStatus>.All)}."];
            }
        }

        if (Agent is not null && (Agent.Length > MaxAgentLength || Agent.Any(char.IsControl)))
        {
            FilterErrors["agent"] = [$"Must be an agent name: 1 to {MaxAgentLength} characters without control characters."];
        }

        Guid? cursor = null;
        if (Cursor is not null)
        {
            if (Guid.TryParse(Cursor, out var parsedCursor))
            {
                cursor = parsedCursor;
            }
            else
            {
                FilterErrors["cursor"] = ["Must be a task id (a GUID)."];
            }
        }

        if (FilterErrors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        List = await tasks.ListAsync(new TaskListQuery(status, Agent, ParentId: null, PageSize, cursor), cancellationToken);
    }
}

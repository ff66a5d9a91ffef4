using System.Text;
using System.Text.Json;
using AgentApi.Dashboard;
using AgentApi.Security;
using AgentApi.Tasks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

/// <summary>One task: its tree, its streamed output, its event timeline and its outcome.</summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class TaskDetailModel(
    TaskStore store,
    TaskTreeReader trees,
    TaskService tasks,
    IAuthorizationService authorization) : PageModel
{
    /// <summary>Most events the page loads; the script receives the later ones from the hub.</summary>
    public const int MaxEvents = 5000;

    private const int EventPageSize = 1000;

    /// <summary>The task as <c>GET /api/tasks/{id}</c> returns it, without its children, which <see cref="Tree"/> holds.</summary>
    public TaskResponse Details { get; private set; } = null!;

    public TaskTreeNode Tree { get; private set; } = null!;

    /// <summary>The loaded events except output events, oldest first.</summary>
    public IReadOnlyList<TaskEventResponse> Timeline { get; private set; } = [];

    /// <summary>The text of the loaded output events, joined in sequence order.</summary>
    public string Output { get; private set; } = string.Empty;

    /// <summary>The sequence of the last loaded event; the script subscribes from there.</summary>
    public long LastSequence { get; private set; }

    /// <summary>Whether the task has more than <see cref="MaxEvents"/> events, so the script loads the rest.</summary>
    public bool EventsTruncated { get; private set; }

    /// <summary>Whether the caller's key has the submit scope that cancelling needs.</summary>
    public bool CanCancel { get; private set; }

    /// <summary>The outcome of a cancel request posted without JavaScript.</summary>
    public string? CancelMessage { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(id, cancellationToken))
        {
            return NotFound();
        }

        await LoadEventsAsync(id, cancellationToken);
        return Page();
    }

    /// <summary>Returns the task tree alone, for the page's script to swap in.</summary>
    public async Task<IActionResult> OnGetTreeAsync(Guid id, CancellationToken cancellationToken) =>
        await LoadAsync(id, cancellationToken) ? Partial("_TaskTree", new TaskTreeView(Tree, id)) : NotFound();

    /// <summary>Returns the result or error alone, for the page's script to swap in once the task finishes.</summary>
    public async Task<IActionResult> OnGetOutcomeAsync(Guid id, CancellationToken cancellationToken) =>
        await LoadAsync(id, cancellationToken) ? Partial("_TaskOutcome", Details) : NotFound();

    /// <summary>Cancels the task from the form posted without JavaScript; the script calls <c>POST /api/tasks/{id}/cancel</c>.</summary>
    public async Task<IActionResult> OnPostCancelAsync(Guid id, CancellationToken cancellationToken)
    {
        if (!(await authorization.AuthorizeAsync(User, AuthorizationPolicies.Submit)).Succeeded)
        {
            Response.StatusCode = StatusCodes.Status403Forbidden;
            CancelMessage = "Cancelling a task needs an API key with the submit scope.";
        }
        else if (await tasks.CancelAsync(id, cancellationToken) is not { } result)
        {
            return NotFound();
        }
        else if (result.Outcome == CancelOutcome.AlreadyFinished)
        {
            Response.StatusCode = StatusCodes.Status409Conflict;
            CancelMessage = $"The task already finished as '{WireNames<AgentTaskStatus>.ToName(result.Task.Status)}'.";
        }
        else
        {
            return RedirectToPage(new { id });
        }

        return await OnGetAsync(id, cancellationToken);
    }

    private async Task<bool> LoadAsync(Guid id, CancellationToken cancellationToken)
    {
        ViewData["Section"] = "tasks";
        if (await store.FindAsync(id, cancellationToken) is not { } task)
        {
            return false;
        }

        Details = TaskResponse.From(task, []);
        Tree = await trees.ReadAsync(task, cancellationToken);
        CanCancel = !task.IsFinished && (await authorization.AuthorizeAsync(User, AuthorizationPolicies.Submit)).Succeeded;
        return true;
    }

    private async Task LoadEventsAsync(Guid id, CancellationToken cancellationToken)
    {
        List<TaskEventResponse> timeline = [];
        var output = new StringBuilder();
        var loaded = 0;
        while (loaded < MaxEvents)
        {
            var page = await store.GetEventsAsync(id, LastSequence, Math.Min(EventPageSize, MaxEvents - loaded), cancellationToken);
            foreach (var taskEvent in page.Select(TaskEventResponse.From))
            {
                if (taskEvent.Type == TaskEventTypes.Output)
                {
                    output.Append(OutputText(taskEvent.Data));
                }
                else
                {
                    timeline.Add(taskEvent);
                }

                LastSequence = taskEvent.Sequence;
            }

            loaded += page.Count;
            if (page.Count < EventPageSize)
            {
                break;
            }
        }

        EventsTruncated = loaded >= MaxEvents;
        Timeline = timeline;
        Output = output.ToString();
    }

    private static string OutputText(JsonElement? data) =>
        data is { ValueKind: JsonValueKind.Object } value
            && value.TryGetProperty("text", out var text)
            && text.ValueKind == JsonValueKind.String
            ? text.GetString()!
            : string.Empty;
}

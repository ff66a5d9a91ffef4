using AgentApi.Processes;
using AgentApi.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

/// <summary>The processor count, CPU affinity and cgroup limits the service runs under, as <c>GET /api/system/resources</c> returns them.</summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class SystemResourcesModel(ISystemResourcesReader reader) : PageModel
{
    public SystemResources Resources { get; private set; } = null!;

    public void OnGet()
    {
        ViewData["Section"] = "system";
        Resources = reader.Read();
    }

    /// <summary>Returns the table rows alone, for the page's script to swap in as memory use changes.</summary>
    public PartialViewResult OnGetValues() => Partial("_SystemResourceRows", reader.Read());
}

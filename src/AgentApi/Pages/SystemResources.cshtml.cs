using AgentApi.Processes;
using AgentApi.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

/// <summary>The processor count, CPU affinity and cgroup limits the service runs under, as <c>GET /api/system/resources</c> returns them.</summary>
[Authorize(Policy = AuthorizationPolicies.Read)]
public sealed class SystemResourcesModel(
    ISystemResourcesReader reader,
    Lanes.LaneCatalog lanes,
    RunningProcessRegistry processes) : PageModel
{
    public SystemResources Resources { get; private set; } = null!;

    /// <summary>Each lane with its CPU list, or null where the lane has none.</summary>
    public IReadOnlyList<(string Lane, string? Cpus)> LaneCpus { get; private set; } = [];

    /// <summary>The programs of process agents running now.</summary>
    public IReadOnlyList<RunningProcess> Processes { get; private set; } = [];

    public void OnGet()
    {
        ViewData["Section"] = "system";
        Resources = reader.Read();
        LaneCpus = [.. lanes.Names.Select(lane => (lane, lanes.CpuLists.GetValueOrDefault(lane)))];
        Processes = processes.All;
    }

    /// <summary>Returns the rows of running process subagents alone, for the page's script to swap in.</summary>
    public PartialViewResult OnGetProcesses() => Partial("_ProcessRows", processes.All);

    /// <summary>Returns the table rows alone, for the page's script to swap in as memory use changes.</summary>
    public PartialViewResult OnGetValues() => Partial("_SystemResourceRows", reader.Read());
}

using Hangfire.Dashboard;

namespace AgentApi.Queues;

/// <summary>
/// Lets any signed-in caller see the Hangfire dashboard, from any address. Hangfire's default
/// filter admits only local requests, which would shut out every remote browser.
/// </summary>
internal sealed class DashboardAuthorizationFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) =>
        context.GetHttpContext().User.Identity?.IsAuthenticated == true;
}

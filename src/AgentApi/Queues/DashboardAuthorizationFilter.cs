using Hangfire.Dashboard;

namespace AgentApi.Queues;

/// <summary>
/// Lets callers with the <c>read</c> scope (or <c>admin</c>) see the Hangfire dashboard, from any
/// address. Hangfire's default filter admits only local requests, which would shut out every
/// remote browser.
/// </summary>
internal sealed class DashboardAuthorizationFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var user = context.GetHttpContext().User;
        return user.Identity?.IsAuthenticated == true
            && (user.HasClaim(Security.ApiKeyScopes.ClaimType, Security.ApiKeyScopes.Read)
                || user.HasClaim(Security.ApiKeyScopes.ClaimType, Security.ApiKeyScopes.Admin));
    }
}

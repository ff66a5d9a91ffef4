using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentApi.Security;

public static class SecurityExtensions
{
    private const string SelectorScheme = "ApiKeyOrCookie";
    public const string CookieName = "agentapi.auth";

    /// <summary>
    /// Registers API key and cookie authentication, and the scope policies. Every endpoint needs an
    /// authenticated caller unless it opts out with <c>AllowAnonymous</c>.
    /// </summary>
    public static IServiceCollection AddSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AuthOptions>(configuration.GetSection(AuthOptions.SectionName));
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<KeyConnections>();
        services.TryAddSingleton<BootstrapKeyConsole>();
        services.AddHostedService<BootstrapKeyService>();

        services
            .AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "API key or dashboard cookie", options =>
            {
                options.ForwardDefaultSelector = context =>
                    ApiKeyAuthenticationHandler.HasKey(context.Request)
                        ? ApiKeyAuthenticationHandler.SchemeName
                        : CookieAuthenticationDefaults.AuthenticationScheme;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(
                ApiKeyAuthenticationHandler.SchemeName, configureOptions: null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.LoginPath = "/login";
                options.SlidingExpiration = true;
                options.ExpireTimeSpan = TimeSpan.FromHours(12);
                options.Events.OnRedirectToLogin = context => ChallengeMachineClientsAsync(context, StatusCodes.Status401Unauthorized);
                options.Events.OnRedirectToAccessDenied = context => ChallengeMachineClientsAsync(context, StatusCodes.Status403Forbidden);

                // A revoked key ends the dashboard sessions signed in with it at their next request.
                options.Events.OnValidatePrincipal = async context =>
                {
                    var name = context.Principal?.Identity?.Name;
                    if (name is null || !context.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>().Exists(name))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            });

        // No CORS headers at all unless origins are configured, so browsers keep other sites out.
        var cors = configuration.GetSection(CorsSettings.SectionName).Get<CorsSettings>() ?? new CorsSettings();
        services.AddCors(options => options.AddPolicy(CorsSettings.PolicyName, policy =>
        {
            if (cors.AllowedOrigins.Count > 0)
            {
                // Keys only: the dashboard cookie is not sent across origins.
                policy.WithOrigins([.. cors.AllowedOrigins]).AllowAnyHeader().AllowAnyMethod();
            }
        }));

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(AuthorizationPolicies.Read, policy => RequireScope(policy, ApiKeyScopes.Read))
            .AddPolicy(AuthorizationPolicies.Submit, policy => RequireScope(policy, ApiKeyScopes.Submit))
            .AddPolicy(AuthorizationPolicies.Admin, policy => RequireScope(policy, ApiKeyScopes.Admin));

        return services;
    }

    private static void RequireScope(AuthorizationPolicyBuilder policy, string scope) =>
        policy.RequireAuthenticatedUser().RequireClaim(ApiKeyScopes.ClaimType, scope, ApiKeyScopes.Admin);

    /// <summary>
    /// Browsers asking for a page are sent to the login form; API, hub, OpenAPI document and
    /// Swagger UI token requests get a problem details response instead of a redirect.
    /// </summary>
    private static async Task ChallengeMachineClientsAsync(RedirectContext<CookieAuthenticationOptions> context, int statusCode)
    {
        var path = context.Request.Path;
        var isPage = !path.StartsWithSegments("/api")
            && !path.StartsWithSegments("/hubs")
            && !path.StartsWithSegments("/swagger/v1")
            && path != OpenApi.OpenApiExtensions.AntiforgeryTokenPath;
        if (isPage)
        {
            context.Response.Redirect(context.RedirectUri);
            return;
        }

        context.Response.StatusCode = statusCode;
        var problemDetails = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context.HttpContext,
            ProblemDetails =
            {
                Status = statusCode,
                Title = statusCode == StatusCodes.Status401Unauthorized ? "Unauthorized" : "Forbidden",
                Detail = statusCode == StatusCodes.Status401Unauthorized
                    ? ApiKeyAuthenticationHandler.UnauthorizedDetail
                    : ApiKeyAuthenticationHandler.ForbiddenDetail,
            },
        });
    }
}

using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AgentApi.Security;

/// <summary>
/// Authenticates <c>X-Api-Key: KEY</c>, <c>Authorization: Bearer KEY</c>, and on the SignalR hub
/// <c>?access_token=KEY</c>, which browsers' WebSocket and SSE clients need because they cannot
/// set headers.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keyStore,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string QueryParameterName = "access_token";

    /// <summary>The detail of every 401, from this handler and from the cookie scheme alike.</summary>
    public const string UnauthorizedDetail =
        $"Send a valid API key in the '{HeaderName}' header or as 'Authorization: Bearer <key>'; the hub at /hubs also takes '?access_token=<key>', and browsers sign in at /login.";

    /// <summary>The detail of every 403.</summary>
    public const string ForbiddenDetail = "The API key does not have the scope this endpoint needs.";

    /// <summary>Returns whether the request carries a key in one of the accepted places.</summary>
    public static bool HasKey(HttpRequest request) => ReadKey(request) is not null;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey(Request);
        if (key is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = keyStore.Validate(key);
        if (identity is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var principal = CreatePrincipal(identity, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = UnauthorizedDetail,
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Forbidden",
                Detail = ForbiddenDetail,
            },
        });
    }

    internal static ClaimsPrincipal CreatePrincipal(ApiKeyIdentity identity, string scheme)
    {
        List<Claim> claims = [new(ClaimTypes.Name, identity.Name)];
        claims.AddRange(identity.Scopes.Select(scope => new Claim(ApiKeyScopes.ClaimType, scope)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    private static string? ReadKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var headerKey) && !string.IsNullOrEmpty(headerKey))
        {
            return headerKey.ToString();
        }

        var authorization = request.Headers[HeaderNames.Authorization].ToString();
        const string bearerPrefix = "Bearer ";
        if (authorization.StartsWith(bearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization[bearerPrefix.Length..].Trim();
            return token.Length == 0 ? null : token;
        }

        if (request.Path.StartsWithSegments("/hubs")
            && request.Query.TryGetValue(QueryParameterName, out var queryKey)
            && !string.IsNullOrEmpty(queryKey))
        {
            return queryKey.ToString();
        }

        return null;
    }
}

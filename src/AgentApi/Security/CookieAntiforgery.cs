using Microsoft.AspNetCore.Antiforgery;

namespace AgentApi.Security;

/// <summary>
/// Requires an antiforgery token on API calls that change something and are signed in with the
/// dashboard cookie instead of a key. SameSite=Strict keeps other sites' requests from carrying
/// the cookie, but a page on the same host and another port counts as the same site, and a form
/// there could post a cancel. The dashboard sends the token in the <c>RequestVerificationToken</c>
/// header; clients that send a key are not affected.
/// </summary>
public static class CookieAntiforgery
{
    public static IApplicationBuilder UseCookieAntiforgery(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var changes = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
            if (changes
                && request.Path.StartsWithSegments("/api")
                && !ApiKeyAuthenticationHandler.HasKey(request)
                && request.Cookies.ContainsKey(SecurityExtensions.CookieName)
                && !await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status400BadRequest,
                        Title = "Antiforgery token missing or invalid",
                        Detail = "A request signed in with the dashboard cookie must carry the page's antiforgery token in the RequestVerificationToken header; other clients send their API key instead.",
                    },
                });
                return;
            }

            await next();
        });
}

namespace AgentApi.Security;

/// <summary>
/// Response headers that keep browsers from misusing the service's pages: no content sniffing, no
/// framing, no referrer, and for the dashboard a Content Security Policy that allows scripts only
/// from the service's own files. Swagger UI and the Hangfire dashboard run inline scripts of their
/// own, so their pages get the other headers only.
/// </summary>
public static class SecurityHeaders
{
    public const string DashboardPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            var path = context.Request.Path;
            if (!path.StartsWithSegments("/swagger") && !path.StartsWithSegments("/hangfire"))
            {
                headers.ContentSecurityPolicy = DashboardPolicy;
            }

            return next(context);
        });
}

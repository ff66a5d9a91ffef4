using AgentApi.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.OpenApi;

namespace AgentApi.OpenApi;

public static class OpenApiExtensions
{
    private const string SchemeId = "ApiKey";

    /// <summary>Where Swagger UI fetches the antiforgery token for the signed-in caller.</summary>
    public const string AntiforgeryTokenPath = "/swagger/antiforgery-token";

    /// <summary>
    /// Swagger UI's request interceptor: before a call that changes something, it fetches an
    /// antiforgery token, relative to the page, and sends it in the header that the service checks.
    /// </summary>
    private const string RequestInterceptor = """
        (request) => {
          const method = (request.method || "GET").toUpperCase();
          if (method === "GET" || method === "HEAD" || method === "OPTIONS") {
            return request;
          }

          return fetch("antiforgery-token", { credentials: "same-origin", cache: "no-store" })
            .then(response => response.ok ? response.json() : null)
            .then(body => {
              if (body && body.token) {
                request.headers["RequestVerificationToken"] = body.token;
              }

              return request;
            });
        }
        """;


    /// <summary>Registers the OpenAPI document for everything under <c>/api</c>, with the API key as its security scheme.</summary>
    public static IServiceCollection AddOpenApiDocument(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "AgentApi",
                Version = "v1",
                Description = "Submit agent tasks, follow their progress and read their results.",
            });
            options.SchemaFilter<SubmitTaskExampleFilter>();
            options.DocInclusionPredicate((_, description) =>
                description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true);
            options.AddSecurityDefinition(SchemeId, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "An AgentApi API key.",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(SchemeId, document)] = [],
            });
        });
        return services;
    }

    /// <summary>
    /// Serves the document and Swagger UI at <c>/swagger</c> to signed-in callers only. A caller
    /// signed in with the dashboard cookie must send an antiforgery token with each API call that
    /// changes something, so Swagger UI fetches one from <see cref="AntiforgeryTokenPath"/> before
    /// such a call. A caller who pressed Authorize sends the key, which needs no token.
    /// </summary>
    public static IApplicationBuilder UseOpenApiDocument(this IApplicationBuilder app)
    {
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/swagger"),
            branch => branch.Use(async (context, next) =>
            {
                if (context.User.Identity?.IsAuthenticated != true)
                {
                    await context.ChallengeAsync();
                    return;
                }

                if (context.Request.Path == AntiforgeryTokenPath)
                {
                    if (!HttpMethods.IsGet(context.Request.Method))
                    {
                        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                        context.Response.Headers.Allow = HttpMethods.Get;
                        return;
                    }

                    // Other origins cannot read this response with the cookie, because CORS, where configured, allows no credentials.
                    var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
                    context.Response.Headers.CacheControl = "no-store";
                    await context.Response.WriteAsJsonAsync(new AntiforgeryTokenResponse(tokens.RequestToken));
                    return;
                }

                await next(context);
            }));

        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            options.DocumentTitle = "AgentApi · Swagger UI";
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "AgentApi v1");
            options.UseRequestInterceptor(RequestInterceptor);
        });
        return app;
    }
}

/// <summary>The body of <c>GET /swagger/antiforgery-token</c>.</summary>
public sealed record AntiforgeryTokenResponse(string? Token);

using AgentApi.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.OpenApi;

namespace AgentApi.OpenApi;

public static class OpenApiExtensions
{
    private const string SchemeId = "ApiKey";

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

    /// <summary>Serves the document and Swagger UI at <c>/swagger</c> to signed-in callers only.</summary>
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

                await next(context);
            }));

        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            options.DocumentTitle = "AgentApi · Swagger UI";
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "AgentApi v1");
        });
        return app;
    }
}

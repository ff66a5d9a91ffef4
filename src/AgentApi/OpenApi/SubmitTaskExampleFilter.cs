using System.Text.Json.Nodes;
using AgentApi.Tasks;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AgentApi.OpenApi;

/// <summary>
/// Gives the body of <c>POST /api/tasks</c> an example that the service accepts unchanged.
/// Without one, Swagger UI fills every field with a placeholder such as <c>"string"</c>, which
/// names no agent, priority or lane that exists.
/// </summary>
internal sealed class SubmitTaskExampleFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (context.Type == typeof(SubmitTaskRequest) && schema is OpenApiSchema concrete)
        {
            concrete.Examples =
            [
                new JsonObject
                {
                    ["agent"] = "general-purpose",
                    ["input"] = "Summarise the release notes in three bullet points.",
                    ["priority"] = "default",
                },
            ];
        }
    }
}

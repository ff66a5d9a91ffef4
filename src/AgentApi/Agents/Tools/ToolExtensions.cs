using System.Net;
using AgentApi.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

public static class ToolExtensions
{
    /// <summary>
    /// Registers the sandboxed tools, <see cref="ToolRegistry"/>, <see cref="WorkspaceProvider"/>,
    /// the <c>web_fetch</c> HTTP client and the settings under <c>Tools</c>, which are validated at start-up.
    /// </summary>
    public static IServiceCollection AddAgentTools(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ToolOptions>()
            .Bind(configuration.GetSection(ToolOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ToolOptions>, ToolOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<ToolOptions>>().Value;
            var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
            var contentRoot = provider.GetService<IHostEnvironment>()?.ContentRootPath ?? AppContext.BaseDirectory;
            return new WorkspaceProvider(WorkspaceProvider.ResolveRootPath(options.WorkspaceRoot, storage.DataDirectory, contentRoot));
        });

        services.AddHttpClient(WebFetchTool.HttpClientName, client =>
            {
                // The tool's own Tools:WebFetch:Timeout covers redirects and the body as well.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("AgentApi-web_fetch/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Each redirect target is checked against the allowlist before it is requested.
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.All,
                UseCookies = false,
            });

        services.AddSingleton<IAgentTool, ReadFileTool>();
        services.AddSingleton<IAgentTool, ListFilesTool>();
        services.AddSingleton<IAgentTool, GlobTool>();
        services.AddSingleton<IAgentTool, GrepTool>();
        services.AddSingleton<IAgentTool, WriteFileTool>();
        services.AddSingleton<IAgentTool, EditFileTool>();
        // NOTE: bash is not isolated from the service's user (see BashToolOptions.Enabled), so it
        // is registered only when a deployment turns it on.
        if (configuration.GetValue<bool>($"{ToolOptions.SectionName}:Bash:{nameof(BashToolOptions.Enabled)}"))
        {
            services.AddSingleton<IAgentTool, BashTool>();
        }

        services.AddSingleton<IAgentTool, WebFetchTool>();
        services.AddSingleton<ToolRegistry>();
        services.AddSingleton<IAgentTool, SpawnSubagentTool>();
        services.AddSingleton<IAgentTool, AskAgentTool>();
        return services;
    }
}

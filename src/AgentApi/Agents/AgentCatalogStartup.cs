namespace AgentApi.Agents;

/// <summary>
/// Creates the <see cref="AgentCatalog"/> while the host starts, so the agent files are read, and
/// broken ones logged, before the first request rather than at it.
/// </summary>
internal sealed class AgentCatalogStartup : IHostedService
{
    /// <summary>Takes the catalog only so that the container creates it. There is nothing else to start.</summary>
    public AgentCatalogStartup(AgentCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

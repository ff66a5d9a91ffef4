using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AgentApi.Security;

/// <summary>
/// Loads the stored keys at start-up and, when no key exists at all, creates one and prints it
/// once on the console together with the dashboard address. The key is written to standard
/// output, never to the log.
/// </summary>
internal sealed class BootstrapKeyService(
    ApiKeyStore keyStore,
    IHostApplicationLifetime lifetime,
    IServer server,
    ILogger<BootstrapKeyService> logger) : IHostedService
{
    public const string BootstrapKeyName = "bootstrap";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await keyStore.ReloadAsync(cancellationToken);
        if (keyStore.HasConfiguredKeys || keyStore.HasStoredKeys)
        {
            return;
        }

        var key = await keyStore.CreateAsync(BootstrapKeyName, ApiKeyScopes.All, cancellationToken);
        SecurityLog.KeyGenerated(logger, BootstrapKeyName);

        lifetime.ApplicationStarted.Register(() =>
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? "http://localhost:5000";
            Console.WriteLine();
            Console.WriteLine("AgentApi generated an API key. It is shown only this once:");
            Console.WriteLine($"  API key:   {key}");
            Console.WriteLine($"  Dashboard: {address.TrimEnd('/')}/login");
            Console.WriteLine();
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

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
    BootstrapKeyConsole console,
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
            var address = BrowsableAddress(server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? "http://localhost:5000");
            var output = console.Output;
            output.WriteLine();
            output.WriteLine("AgentApi generated an API key. It is shown only this once:");
            output.WriteLine($"  API key:   {key}");
            output.WriteLine($"  Dashboard: {address.TrimEnd('/')}/login");
            output.WriteLine();
            output.Flush();
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Turns a wildcard listening address such as <c>http://[::]:8080</c> into one a browser can open.</summary>
    internal static string BrowsableAddress(string address)
    {
        if (!Uri.TryCreate(address.Replace("://+:", "://localhost:", StringComparison.Ordinal)
                .Replace("://*:", "://localhost:", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return address;
        }

        var host = uri.Host is "0.0.0.0" or "[::]" or "::" ? "localhost" : uri.Host;
        return new UriBuilder(uri) { Host = host }.Uri.GetLeftPart(UriPartial.Authority);
    }
}

/// <summary>Where the generated key is printed: standard output, or a writer that a test supplies.</summary>
public sealed class BootstrapKeyConsole(TextWriter output)
{
    public BootstrapKeyConsole()
        : this(Console.Out)
    {
    }

    public TextWriter Output { get; } = output;
}

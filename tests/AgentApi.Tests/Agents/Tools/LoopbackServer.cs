using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentApi.Tests.Agents.Tools;

/// <summary>
/// An in-process Kestrel server on 127.0.0.1 with a few fixed routes for <c>web_fetch</c> tests.
/// It counts TCP connections as well as requests, so a test can show that nothing connected.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    public const string Text = "hello from loopback";

    private readonly WebApplication _app;
    private int _connections;
    private int _requests;

    private LoopbackServer(WebApplication app)
    {
        _app = app;
    }

    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:{port}</c>, without a trailing slash.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public int ConnectionCount => Volatile.Read(ref _connections);

    public int RequestCount => Volatile.Read(ref _requests);

    public static async Task<LoopbackServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();

        // The test output folder contains the service's appsettings.json, which must not apply here.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(5));

        LoopbackServer? server = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            Interlocked.Increment(ref server!._connections);
            return next(connection);
        })));

        var app = builder.Build();
        server = new LoopbackServer(app);
        app.Use((context, next) =>
        {
            Interlocked.Increment(ref server._requests);
            return next(context);
        });
        MapRoutes(app);
        await app.StartAsync().WaitAsync(ToolSandbox.Timeout);

        var address = app.Services.GetRequiredService<IServer>().Features
            .GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.Port = new Uri(address).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(ToolSandbox.Timeout);
        await _app.DisposeAsync();
    }

    private static void MapRoutes(WebApplication app)
    {
        app.MapGet("/text", () => Results.Text(Text, "text/plain; charset=utf-8"));
        app.MapGet("/json", () => Results.Text("{\"ok\":true}", "application/json"));
        app.MapGet("/large", () => Results.Text(new string('b', 10_000), "text/plain"));
        app.MapGet("/binary", () => Results.Bytes([0x89, 0x50, 0x4E, 0x47, 0, 1, 2, 3], "application/octet-stream"));
        app.MapGet("/redirect-local", () => Results.Redirect("/text"));
        app.MapGet("/redirect-to", (string target) => Results.Redirect(target));
        app.MapGet("/loop", () => Results.Redirect("/loop"));
        app.MapGet("/slow", async (HttpContext context) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted);
            return Results.Text("late", "text/plain");
        });
    }
}

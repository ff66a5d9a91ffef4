using System.Text.Json;
using System.Text.Json.Serialization;
using AgentApi.Agents;
using AgentApi.Dashboard;
using AgentApi.Errors;
using AgentApi.Events;
using AgentApi.Health;
using AgentApi.Heartbeat;
using AgentApi.Lanes;
using AgentApi.OpenApi;
using AgentApi.Processes;
using AgentApi.Queues;
using AgentApi.Retention;
using AgentApi.Schedules;
using AgentApi.Security;
using AgentApi.Storage;
using AgentApi.Tasks;
using AgentApi.Webhooks;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,

    // appsettings.json and wwwroot/ live at the repository root and are copied beside the binary,
    // so the service finds them from `dotnet run`, from the publish output and in containers.
    ContentRootPath = AppContext.BaseDirectory,
});

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.Configure<HostOptions>(options =>
{
    // Room for the lanes' grace period plus handing unstarted tasks back.
    var gracePeriod = builder.Configuration.GetValue(
        $"{LaneDispatcherOptions.SectionName}:{nameof(LaneDispatcherOptions.ShutdownGracePeriod)}",
        new LaneDispatcherOptions().ShutdownGracePeriod);
    options.ShutdownTimeout = gracePeriod + TimeSpan.FromSeconds(15);
});
builder.Services.ConfigureHttpJsonOptions(options =>
{
    options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));

    // A number sent as a string, or a property sent twice, is a client bug worth a 400.
    options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
    options.SerializerOptions.AllowDuplicateProperties = false;

    // A misspelt field such as "timeoutSecond" would otherwise be ignored without a word.
    options.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
});
builder.WebHost.ConfigureKestrel((context, kestrel) =>
    kestrel.Limits.MaxRequestBodySize = context.Configuration.GetValue(
        $"{RequestLimitsOptions.SectionName}:{nameof(RequestLimitsOptions.MaxRequestBodyBytes)}",
        RequestLimitsOptions.DefaultMaxRequestBodyBytes));

var storage = builder.AddStorage();
builder.Services.AddErrorHandling(builder.Configuration);
builder.Services.AddSecurity(builder.Configuration);
builder.Services.AddKeyRateLimits(builder.Configuration);
builder.Services.AddLanes(builder.Configuration);
builder.Services.AddAgents(builder.Configuration);
builder.Services.AddEvents(builder.Configuration, storage);
builder.Services.AddWebhooks(builder.Configuration);
builder.Services.AddHeartbeat(builder.Configuration);
builder.Services.AddRetention(builder.Configuration);
builder.Services.AddSystemResources();
builder.Services.AddProcessAgents(builder.Configuration);

// Before the queues: hosted services stop in reverse order, so the Hangfire server stops handing
// out tasks before the lanes drain.
builder.Services.AddTasks(builder.Configuration);
builder.Services.AddSchedules(builder.Configuration, storage);
builder.Services.AddQueues(builder.Configuration, storage);
builder.Services.AddHealth();
builder.Services.AddOpenApiDocument();
builder.Services.AddDashboard();

var app = builder.Build();

try
{
    await app.InitializeStorageAsync();
}
catch (StorageStartupException exception)
{
    StorageLog.CannotStart(app.Logger, exception.Message, exception);
    return 1;
}

app.UseRetention();
app.UseProxyHeaders(app.Configuration);
app.UseErrorHandling();
app.UseSecurityHeaders();
app.UseStaticFiles();
app.UseRouting();
app.UseCors(CorsSettings.PolicyName);
app.UseAuthentication();
app.UseCookieAntiforgery();
app.UseRateLimiter();
app.UseAuthorization();
app.UseOpenApiDocument();

app.MapHealth();
app.MapTasks();
app.MapSchedules();
app.MapLanes();
app.MapAgents();
app.MapSystem();
app.MapQueues();
app.MapEvents();
app.MapHeartbeat();
app.MapKeys();
app.MapRazorPages();

await app.RunAsync();
return 0;

/// <summary>The entry point, visible to the integration tests' <c>WebApplicationFactory</c>.</summary>
public partial class Program;

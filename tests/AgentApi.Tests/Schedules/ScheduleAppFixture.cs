using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Schedules;

/// <summary>One service on its own PostgreSQL database that finds missed slots within seconds.</summary>
public sealed class ScheduleAppFixture : IAsyncLifetime
{
    private AgentApiFactory? _factory;

    /// <summary>Settings that make missed slots show within a few seconds instead of minutes.</summary>
    public static Dictionary<string, string?> FastSweep(int modelLatencyMs = 0) => new()
    {
        ["Schedules:MissedAfter"] = "00:00:03",
        ["Schedules:SweepInterval"] = "00:00:00.500",
        ["Models:Default:LatencyMs"] = modelLatencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public AgentApiFactory Factory => _factory ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _factory = await AgentApiFactory.StartPostgresAsync(FastSweep());

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}

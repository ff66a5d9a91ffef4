namespace AgentApi.Tests.Infrastructure;

/// <summary>One service on its own PostgreSQL database, shared by the tests of a class.</summary>
public sealed class PostgresAppFixture : IAsyncLifetime
{
    private AgentApiFactory? _factory;

    public AgentApiFactory Factory => _factory ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _factory = await AgentApiFactory.StartPostgresAsync();

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}

using Npgsql;

namespace AgentApi.Tests.Infrastructure;

public sealed class PostgresServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task CreateDatabase_CalledTwice_ReturnsSeparateWorkingDatabases()
    {
        var first = await PostgresServer.CreateDatabaseAsync().WaitAsync(Timeout);
        var second = await PostgresServer.CreateDatabaseAsync().WaitAsync(Timeout);

        var firstName = new NpgsqlConnectionStringBuilder(first).Database;
        var secondName = new NpgsqlConnectionStringBuilder(second).Database;
        Assert.NotEqual(firstName, secondName);

        foreach (var (connectionString, expectedName) in new[] { (first, firstName), (second, secondName) })
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync().WaitAsync(Timeout);
            await using var command = new NpgsqlCommand("select 1, current_database()", connection);
            await using var reader = await command.ExecuteReaderAsync().WaitAsync(Timeout);

            Assert.True(await reader.ReadAsync().WaitAsync(Timeout));
            Assert.Equal(1, reader.GetInt32(0));
            Assert.Equal(expectedName, reader.GetString(1));
        }
    }
}

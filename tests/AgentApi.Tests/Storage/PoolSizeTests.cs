using AgentApi.Storage;
using Npgsql;

namespace AgentApi.Tests.Storage;

public sealed class PoolSizeTests
{
    [Theory]
    [InlineData("Host=db;Database=agents", 50)]
    [InlineData("Host=db;Database=agents;Minimum Pool Size=5", 50)]
    [InlineData("Host=db;Database=agents;Maximum Pool Size=7", 7)]
    [InlineData("Host=db;Database=agents;maxpoolsize=11", 11)]
    public void WithDefaultPoolSize_OnlyWhenMaximumUnset(string connectionString, int expected)
    {
        var result = new NpgsqlConnectionStringBuilder(StorageExtensions.WithDefaultPoolSize(connectionString, 50));

        Assert.Equal(expected, result.MaxPoolSize);
    }
}

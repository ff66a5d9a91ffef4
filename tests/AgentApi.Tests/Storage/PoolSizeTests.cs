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
    public void PoolSize_OnlyWhenMaximumUnset(string connectionString, int expected)
    {
        var result = new NpgsqlConnectionStringBuilder(StorageExtensions.WithPoolDefaults(connectionString, 50));

        Assert.Equal(expected, result.MaxPoolSize);
    }

    [Theory]
    [InlineData("Host=db;Database=agents", true)]
    [InlineData("Host=db;Database=agents;No Reset On Close=false", false)]
    [InlineData("Host=db;Database=agents;noresetonclose=false", false)]
    public void NoResetOnClose_OnlyWhenUnset(string connectionString, bool expected)
    {
        var result = new NpgsqlConnectionStringBuilder(StorageExtensions.WithPoolDefaults(connectionString, 50));

        Assert.Equal(expected, result.NoResetOnClose);
    }
}

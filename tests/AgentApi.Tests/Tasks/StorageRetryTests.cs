using AgentApi.Tasks;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AgentApi.Tests.Tasks;

public sealed class StorageRetryTests
{
    [Theory]
    [InlineData("22001")]
    [InlineData("22021")]
    [InlineData("23502")]
    public void RejectedData_IsNotAStorageFailure(string sqlState)
    {
        var exception = new DbUpdateException("save failed", new PostgresException("rejected", "ERROR", "ERROR", sqlState));

        Assert.False(StorageRetry.IsStorageFailure(exception));
    }

    [Theory]
    [InlineData("08006")]
    [InlineData("57P01")]
    [InlineData("53300")]
    public void ServerUnavailable_IsAStorageFailure(string sqlState)
    {
        var exception = new DbUpdateException("save failed", new PostgresException("unavailable", "FATAL", "FATAL", sqlState));

        Assert.True(StorageRetry.IsStorageFailure(exception));
    }

    [Theory]
    [InlineData("57P01", true)]
    [InlineData("08006", true)]
    [InlineData("23505", false)]
    public void ExecutionStrategyWrapper_ClassifiedByInnermost(string sqlState, bool failure)
    {
        // How EF Core's execution strategy reports a connection that PostgreSQL dropped during SaveChanges.
        var exception = new InvalidOperationException(
            "An exception has been raised that is likely due to a transient failure.",
            new DbUpdateException("save failed", new PostgresException("terminated", "FATAL", "FATAL", sqlState)));

        Assert.Equal(failure, StorageRetry.IsStorageFailure(exception));
    }

    [Theory]
    [InlineData("22021", false)]
    [InlineData("23505", false)]
    [InlineData("08006", true)]
    [InlineData("57P01", true)]
    public void Handler_OnlyOutagesGet503(string sqlState, bool unavailable)
    {
        var exception = new DbUpdateException("save failed", new PostgresException("refused", "ERROR", "ERROR", sqlState));

        Assert.Equal(unavailable, AgentApi.Errors.StorageUnavailableExceptionHandler.IsStorageUnavailable(exception));
    }
}

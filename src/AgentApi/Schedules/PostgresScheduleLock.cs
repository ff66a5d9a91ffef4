using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace AgentApi.Schedules;

/// <summary>
/// A PostgreSQL transaction-level advisory lock per schedule. PostgreSQL releases it when the
/// transaction ends or its connection drops, so an instance that dies while holding it does
/// not block the others.
/// </summary>
internal sealed class PostgresScheduleLock(NpgsqlDataSource dataSource) : IScheduleLock
{
    public async Task<IAsyncDisposable> AcquireAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
            {
                command.Parameters.AddWithValue("key", KeyOf(scheduleId));
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            return new AcquiredLock(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A 64-bit lock key from the schedule id; other users of advisory locks would need a colliding hash.</summary>
    private static long KeyOf(string scheduleId) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("agentapi.schedule:" + scheduleId)), 0);

    private sealed class AcquiredLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await transaction.CommitAsync();
            }
            finally
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
            }
        }
    }
}

using System.Data;
using Npgsql;

namespace AgentApi.Storage;

/// <summary>
/// Cleanup for pooled connections that ran <c>LISTEN</c>. The pool does not reset connections
/// (<c>No Reset On Close</c>), so a listener ends its <c>LISTEN</c> before it gives its
/// connection back, or the next user would receive its notifications.
/// </summary>
internal static class ListenConnections
{
    /// <summary>Runs <c>UNLISTEN *</c> on <paramref name="connection"/> when it is still open.</summary>
    public static async Task UnlistenAsync(NpgsqlConnection connection)
    {
        if (connection.State != ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var command = new NpgsqlCommand("UNLISTEN *", connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
        {
            // Such a failure breaks the connection, and the pool discards broken connections.
        }
    }
}

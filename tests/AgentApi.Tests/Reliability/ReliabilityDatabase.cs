using Npgsql;

namespace AgentApi.Tests.Reliability;

/// <summary>Reads the stored state of tasks straight from PostgreSQL, not through the service's API.</summary>
internal sealed class ReliabilityDatabase(string connectionString)
{
    private static readonly string FinalStatuses = "('succeeded', 'failed', 'cancelled', 'timed_out')";

    public string ConnectionString { get; } = connectionString;

    public Task<long> CountAsync(string sql) => ScalarAsync(sql);

    public Task<long> UnfinishedAsync() => ScalarAsync($"select count(*) from tasks where status not in {FinalStatuses}");

    /// <summary>Describes each task that did not succeed: its id, status, error type and error message.</summary>
    public async Task<List<string>> NotSucceededAsync()
    {
        List<string> lines = [];
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            "select id, status, coalesce(error_type, ''), coalesce(error_message, '') from tasks where status <> 'succeeded' order by id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add($"{reader.GetGuid(0)} {reader.GetString(1)} {reader.GetString(2)}: {reader.GetString(3)}");
        }

        return lines;
    }

    /// <summary>Reads the first column of each row as a string.</summary>
    public async Task<List<string>> StringsAsync(string sql)
    {
        List<string> values = [];
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.IsDBNull(0) ? "(none)" : reader.GetString(0));
        }

        return values;
    }

    /// <summary>Task count by status.</summary>
    public async Task<Dictionary<string, long>> StatusCountsAsync()
    {
        Dictionary<string, long> counts = [];
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("select status, count(*) from tasks group by status", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>Ids of tasks whose events hold a number of final events other than one.</summary>
    public async Task<List<string>> TasksNotFinishedExactlyOnceAsync()
    {
        List<string> wrong = [];
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            select t.id::text || ': ' || count(e.task_id)
            from tasks t left join task_events e on e.task_id = t.id and e.type in {FinalStatuses}
            group by t.id having count(e.task_id) <> 1
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            wrong.Add(reader.GetString(0));
        }

        return wrong;
    }

    /// <summary>How many <c>started</c> events each of <paramref name="ids"/> has.</summary>
    public async Task<Dictionary<Guid, long>> StartedCountsAsync(IEnumerable<Guid> ids)
    {
        Dictionary<Guid, long> counts = [];
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            "select task_id, count(*) from task_events where type = 'started' and task_id = any(@ids) group by task_id", connection);
        command.Parameters.AddWithValue("ids", ids.ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>Ids of tasks with <paramref name="status"/> whose parent is <paramref name="parentId"/>.</summary>
    public async Task<List<Guid>> ChildrenAsync(Guid parentId, string status)
    {
        List<Guid> ids = [];
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("select id from tasks where parent_id = @parent and status = @status", connection);
        command.Parameters.AddWithValue("parent", parentId);
        command.Parameters.AddWithValue("status", status);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling every 100 ms.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string description)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds} s waiting for {description}.");
            }

            await Task.Delay(100);
        }
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}

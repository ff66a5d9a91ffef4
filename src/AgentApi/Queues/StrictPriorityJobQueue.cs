using System.Data;
using System.Data.Common;
using AgentApi.Storage;
using Hangfire.PostgreSql;
using Hangfire.Storage;
using Npgsql;

namespace AgentApi.Queues;

/// <summary>
/// Hangfire.PostgreSql's job queue with strict priority. The stock queue (1.21) orders waiting
/// jobs by queue name, which would take <c>default</c> before <c>high</c>; this one takes jobs in
/// the order of the queues a worker listens to, then oldest first. Enqueues send a PostgreSQL
/// notification on commit, so idle workers wake at once instead of at the next poll.
/// </summary>
internal sealed class StrictPriorityJobQueue : IPersistentJobQueue
{
    private const string NotificationChannel = "agentapi_jobqueue";

    private readonly PostgreSqlStorage _storage;
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _invisibilityTimeout;
    private readonly SemaphoreSlim _jobAvailable = new(0, int.MaxValue);
    private readonly Lazy<Task> _listener;
    private readonly CancellationTokenSource _stopListening = new();

    public StrictPriorityJobQueue(
        PostgreSqlStorage storage,
        NpgsqlDataSource dataSource,
        string schema,
        TimeSpan pollInterval,
        TimeSpan invisibilityTimeout)
    {
        _storage = storage;
        _dataSource = dataSource;
        _schema = schema;
        _pollInterval = pollInterval;
        _invisibilityTimeout = invisibilityTimeout;
        _listener = new Lazy<Task>(() => Task.Run(() => ListenAsync(_stopListening.Token)));
    }

    public IFetchedJob Dequeue(string[] queues, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(queues.Length);
        _ = _listener.Value;

        // Ordered by the position of the queue in the worker's list, so a high job is always
        // taken before any default job. Rows whose fetch has timed out (their worker died) are
        // taken again.
        var sql = $"""
            UPDATE "{_schema}"."jobqueue" SET "fetchedat" = NOW()
            WHERE "id" = (
                SELECT "id" FROM "{_schema}"."jobqueue"
                WHERE "queue" = ANY (@queues)
                  AND ("fetchedat" IS NULL OR "fetchedat" < NOW() - @invisibility)
                ORDER BY array_position(@queues, "queue"), "fetchedat" NULLS FIRST, "jobid"
                FOR UPDATE SKIP LOCKED
                LIMIT 1)
            RETURNING "id", "jobid", "queue", "fetchedat";
            """;

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            using (var command = _dataSource.CreateCommand(sql))
            {
                command.Parameters.AddWithValue("queues", queues);
                command.Parameters.AddWithValue("invisibility", _invisibilityTimeout);
                using var reader = command.ExecuteReader();
                if (reader.Read())
                {
                    var fetched = new PostgreSqlFetchedJob(
                        _storage,
                        reader.GetInt64(0),
                        reader.GetInt64(1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        reader.GetString(2),
                        reader.GetDateTime(3));

                    // More jobs may be waiting, and a notification wakes only one worker.
                    _jobAvailable.Release();
                    return fetched;
                }
            }

            _jobAvailable.Wait(_pollInterval, cancellationToken);
        }
    }

    public void Enqueue(IDbConnection connection, string queue, string jobId)
    {
        using var command = ((DbConnection)connection).CreateCommand();
        command.CommandText = $"""
            INSERT INTO "{_schema}"."jobqueue" ("jobid", "queue") VALUES (@jobId, @queue);
            NOTIFY {NotificationChannel};
            """;
        AddParameter(command, "jobId", long.Parse(jobId, System.Globalization.CultureInfo.InvariantCulture));
        AddParameter(command, "queue", queue);
        command.ExecuteNonQuery();
    }

    public void StopListening() => _stopListening.Cancel();

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification) => _jobAvailable.Release();

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                try
                {
                    connection.Notification += OnNotification;
                    await using (var listen = new NpgsqlCommand($"LISTEN {NotificationChannel}", connection))
                    {
                        await listen.ExecuteNonQueryAsync(cancellationToken);
                    }

                    while (!cancellationToken.IsCancellationRequested)
                    {
                        await connection.WaitAsync(cancellationToken);
                    }
                }
                finally
                {
                    connection.Notification -= OnNotification;
                    await ListenConnections.UnlistenAsync(connection);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or IOException or TimeoutException)
            {
                // Workers still poll while the listener is down; try again shortly.
                await Task.Delay(_pollInterval, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}

/// <summary>Plugs <see cref="StrictPriorityJobQueue"/> into Hangfire.PostgreSql for AgentApi's queues.</summary>
internal sealed class StrictPriorityJobQueueProvider(
    StrictPriorityJobQueue queue,
    IPersistentJobQueueMonitoringApi monitoringApi) : IPersistentJobQueueProvider
{
    public IPersistentJobQueue GetJobQueue() => queue;

    public IPersistentJobQueueMonitoringApi GetJobQueueMonitoringApi() => monitoringApi;
}

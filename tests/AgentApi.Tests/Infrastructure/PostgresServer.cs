using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace AgentApi.Tests.Infrastructure;

/// <summary>
/// Process-wide PostgreSQL server for tests. It uses the server named by the
/// <c>ConnectionStrings__Postgres</c> environment variable when that is set. Otherwise
/// it starts a throw-away cluster from the local PostgreSQL binaries on first use and
/// stops it when the test process exits.
/// </summary>
public static class PostgresServer
{
    public const string ConnectionStringVariable = "ConnectionStrings__Postgres";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    // The start runs once with no caller's token, so a cancelled caller cannot leave a
    // half-started cluster behind. A failed start is cached, so every test reports the
    // same error without retrying the start.
    private static readonly Lazy<Task<string>> AdminConnectionString =
        new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Creates an empty database with a unique name and returns an Npgsql connection
    /// string for it. Each test gets its own database, so tests can run in parallel.
    /// </summary>
    /// <remarks>
    /// NOTE: databases are never dropped. A local cluster is deleted as a whole when the
    /// process exits, but on a server named by <c>ConnectionStrings__Postgres</c> they accumulate.
    /// </remarks>
    public static async Task<string> CreateDatabaseAsync(CancellationToken ct = default)
    {
        var adminConnectionString = await GetAdminConnectionStringAsync(ct);
        var databaseName = "test_" + Guid.NewGuid().ToString("N");

        await using (var connection = new NpgsqlConnection(adminConnectionString))
        {
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{databaseName}\"", connection);
            await command.ExecuteNonQueryAsync(ct);
        }

        var builder = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = databaseName };
        return builder.ConnectionString;
    }

    /// <summary>
    /// Starts the server on the first call and returns a connection string that may create
    /// databases: the configured one, or a superuser one for the local cluster's
    /// <c>postgres</c> database.
    /// </summary>
    public static Task<string> GetAdminConnectionStringAsync(CancellationToken ct = default) =>
        AdminConnectionString.Value.WaitAsync(ct);

    private static async Task<string> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        var cluster = await LocalCluster.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        return cluster.AdminConnectionString;
    }

    /// <summary>A PostgreSQL cluster in a temporary directory, owned by this process.</summary>
    private sealed class LocalCluster
    {
        private const string PostgresUser = "postgres";
        private const string TempRoot = "/tmp";
        private const string DirectoryPrefix = "agentapi-pg-";
        private const int StartAttempts = 3;

        private readonly string binDirectory;
        private readonly string rootDirectory;
        private readonly bool runAsPostgresUser;

        private LocalCluster(string binDirectory, string rootDirectory, bool runAsPostgresUser)
        {
            this.binDirectory = binDirectory;
            this.rootDirectory = rootDirectory;
            this.runAsPostgresUser = runAsPostgresUser;
        }

        public string AdminConnectionString { get; private set; } = "";

        private string DataDirectory => Path.Combine(rootDirectory, "data");

        private string LogFile => Path.Combine(rootDirectory, "postgres.log");

        /// <summary>File with the id of the test process that owns the cluster.</summary>
        private string OwnerFile => Path.Combine(rootDirectory, "owner.pid");

        public static async Task<LocalCluster> StartAsync()
        {
            var binDirectory = FindBinDirectory();

            // PostgreSQL refuses to run as root, so root runs it as the postgres user.
            var runAsPostgresUser = IsRoot();
            if (runAsPostgresUser)
            {
                await EnsurePostgresUserAsync();
            }

            await RemoveStaleClustersAsync(binDirectory, runAsPostgresUser);

            // A short path under /tmp keeps the Unix socket path within its 107-byte limit,
            // whatever TMPDIR is.
            var rootDirectory = Path.Combine(TempRoot, DirectoryPrefix + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(rootDirectory);
            var cluster = new LocalCluster(binDirectory, rootDirectory, runAsPostgresUser);
            try
            {
                await File.WriteAllTextAsync(cluster.OwnerFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
                await cluster.InitializeAsync();
                await cluster.StartServerAsync();
                return cluster;
            }
            catch
            {
                cluster.DeleteDirectory();
                throw;
            }
        }

        /// <summary>
        /// Stops the server at once, without a checkpoint, and deletes its files, in a
        /// detached shell that outlives this process.
        /// </summary>
        /// <remarks>
        /// vstest.console 18.7 (.NET SDK 10.0.401) kills the test host 100 ms after asking it to
        /// exit, as its --diag log shows. That is too short to delete a cluster in process.
        /// </remarks>
        public void Stop()
        {
            var stopCommand = CreateStartInfo(
                Path.Combine(binDirectory, "pg_ctl"), ["stop", "-D", DataDirectory, "-m", "immediate", "-w"]);

            var startInfo = new ProcessStartInfo
            {
                FileName = "/bin/sh",
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = "/",
            };

            // The shell lets go of this process's pipes first, so that nothing waits on them.
            foreach (var argument in new[]
            {
                "-c", "exec </dev/null >/dev/null 2>&1; root=\"$1\"; shift; \"$@\"; rm -rf \"$root\"", "sh", rootDirectory,
                stopCommand.FileName,
            })
            {
                startInfo.ArgumentList.Add(argument);
            }

            foreach (var argument in stopCommand.ArgumentList)
            {
                startInfo.ArgumentList.Add(argument);
            }

            try
            {
                using var process = Process.Start(startInfo);
            }
            catch (System.ComponentModel.Win32Exception exception)
            {
                Console.Error.WriteLine($"Failed to stop the test PostgreSQL cluster in {rootDirectory}: {exception.Message}");
            }
        }

        /// <summary>
        /// Stops and deletes the clusters of earlier test processes that died before their
        /// cleanup finished, for example when killed by the test runner.
        /// </summary>
        private static async Task RemoveStaleClustersAsync(string binDirectory, bool runAsPostgresUser)
        {
            // The owner check needs /proc, so without it nothing counts as stale.
            if (!Directory.Exists("/proc/self") || !Directory.Exists(TempRoot))
            {
                return;
            }

            foreach (var directory in Directory.GetDirectories(TempRoot, DirectoryPrefix + "*"))
            {
                var stale = new LocalCluster(binDirectory, directory, runAsPostgresUser);

                // A directory without an owner file may be another process's cluster that is just being created.
                if (!int.TryParse(ReadFileOrEmpty(stale.OwnerFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var ownerPid)
                    || Directory.Exists($"/proc/{ownerPid}"))
                {
                    continue;
                }

                if (File.Exists(Path.Combine(stale.DataDirectory, "postmaster.pid")))
                {
                    try
                    {
                        await stale.RunAsync(
                            Path.Combine(binDirectory, "pg_ctl"),
                            ["stop", "-D", stale.DataDirectory, "-m", "immediate", "-w"],
                            asPostgresUser: runAsPostgresUser);
                    }
                    catch (InvalidOperationException exception)
                    {
                        // pg_ctl fails when the server is already gone, and the files can still go.
                        Console.Error.WriteLine($"Failed to stop the stale test PostgreSQL cluster in {directory}: {exception.Message}");
                    }
                }

                stale.DeleteDirectory();
            }
        }

        private static string ReadFileOrEmpty(string path)
        {
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return "";
            }
        }

        private async Task InitializeAsync()
        {
            if (runAsPostgresUser)
            {
                await RunAsync("chown", [PostgresUser, rootDirectory], asPostgresUser: false);
            }

            await RunAsync(
                Path.Combine(binDirectory, "initdb"),
                ["-D", DataDirectory, "-U", PostgresUser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
                asPostgresUser: runAsPostgresUser);
        }

        private async Task StartServerAsync()
        {
            // The free port is picked before the server binds it, so another process can
            // take it in between. A failed start is retried on a new port.
            for (var attempt = 1; ; attempt++)
            {
                var port = LoopbackPort.PickFree();
                var options = string.Join(' ',
                    "-c listen_addresses=127.0.0.1",
                    $"-c port={port}",
                    $"-c unix_socket_directories={rootDirectory}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    // Each test host may hold up to 80 connections (EF Core 50, Hangfire 30), and
                    // test classes run in parallel, some with two or three service processes:
                    // 300 ran out on a loaded machine, and 500 once on an idle one.
                    "-c max_connections=1000");
                try
                {
                    await RunAsync(
                        Path.Combine(binDirectory, "pg_ctl"),
                        ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", options],
                        asPostgresUser: runAsPostgresUser);
                }
                catch (InvalidOperationException exception) when (attempt < StartAttempts)
                {
                    Console.Error.WriteLine($"PostgreSQL failed to start on port {port}, retrying on another port: {exception.Message}");
                    continue;
                }
                catch (InvalidOperationException exception)
                {
                    throw new InvalidOperationException($"{exception.Message}\nServer log {LogFile}:\n{ReadLogTail()}", exception);
                }

                AdminConnectionString = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1",
                    Port = port,
                    Username = PostgresUser,
                    Database = "postgres",
                }.ConnectionString;
                return;
            }
        }

        private string ReadLogTail()
        {
            try
            {
                var lines = File.ReadAllLines(LogFile);
                return string.Join('\n', lines.TakeLast(20));
            }
            catch (IOException exception)
            {
                return $"(could not read the log: {exception.Message})";
            }
        }

        private void DeleteDirectory()
        {
            try
            {
                Directory.Delete(rootDirectory, recursive: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"Failed to delete the test PostgreSQL directory {rootDirectory}: {exception.Message}");
            }
        }

        private ProcessStartInfo CreateStartInfo(string fileName, IReadOnlyList<string> arguments)
        {
            return CreateStartInfo(fileName, arguments, runAsPostgresUser, rootDirectory);
        }

        private Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool asPostgresUser)
        {
            return RunProcessAsync(CreateStartInfo(fileName, arguments, asPostgresUser, rootDirectory));
        }

        private static ProcessStartInfo CreateStartInfo(
            string fileName, IReadOnlyList<string> arguments, bool asPostgresUser, string workingDirectory)
        {
            var startInfo = new ProcessStartInfo
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                // The postgres user may not be able to enter the test's working directory.
                WorkingDirectory = workingDirectory,
            };

            if (asPostgresUser)
            {
                startInfo.FileName = "runuser";
                foreach (var argument in new[] { "-u", PostgresUser, "--", fileName })
                {
                    startInfo.ArgumentList.Add(argument);
                }
            }
            else
            {
                startInfo.FileName = fileName;
            }

            foreach (var argument in arguments)
            {
                startInfo.ArgumentList.Add(argument);
            }

            return startInfo;
        }

        private static async Task EnsurePostgresUserAsync()
        {
            var lookup = CreateStartInfo("id", ["-u", PostgresUser], asPostgresUser: false, "/");
            if (await TryRunProcessAsync(lookup))
            {
                return;
            }

            await RunProcessAsync(CreateStartInfo("useradd", ["--system", PostgresUser], asPostgresUser: false, "/"));
        }

        private static async Task<bool> TryRunProcessAsync(ProcessStartInfo startInfo)
        {
            try
            {
                await RunProcessAsync(startInfo);
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        /// <summary>
        /// Runs a process to completion and throws <see cref="InvalidOperationException"/>
        /// with its output when it cannot start, exits with a non-zero code or times out.
        /// </summary>
        private static async Task RunProcessAsync(ProcessStartInfo startInfo)
        {
            var commandLine = string.Join(' ', [startInfo.FileName, .. startInfo.ArgumentList]);
            using var process = new Process { StartInfo = startInfo };
            try
            {
                process.Start();
            }
            catch (System.ComponentModel.Win32Exception exception)
            {
                throw new InvalidOperationException($"Failed to start `{commandLine}`: {exception.Message}", exception);
            }

            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(CommandTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"`{commandLine}` timed out after {CommandTimeout.TotalSeconds} s.");
            }

            var output = new StringBuilder();
            output.Append(await stdout).Append(await stderr);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"`{commandLine}` failed with exit code {process.ExitCode}:\n{output.ToString().Trim()}");
            }
        }

        private static bool IsRoot()
        {
            if (Environment.UserName == "root")
            {
                return true;
            }

            // The "Uid:" line lists the real, effective, saved and filesystem user ids.
            const string statusFile = "/proc/self/status";
            if (!File.Exists(statusFile))
            {
                return false;
            }

            var uidLine = File.ReadLines(statusFile).FirstOrDefault(line => line.StartsWith("Uid:", StringComparison.Ordinal));
            var fields = uidLine?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: >= 3 } && fields[2] == "0";
        }

        /// <summary>
        /// Finds a directory that contains initdb, pg_ctl and postgres: the first such
        /// directory on PATH, else the highest version under /usr/lib/postgresql/*/bin
        /// (where the Debian packages install them). scripts/test.sh searches the same way.
        /// </summary>
        private static string FindBinDirectory()
        {
            var pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? "")
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

            const string debianRoot = "/usr/lib/postgresql";
            var debianDirectories = Directory.Exists(debianRoot)
                ? Directory.GetDirectories(debianRoot)
                    .OrderByDescending(directory => ParseVersion(Path.GetFileName(directory)))
                    .Select(directory => Path.Combine(directory, "bin"))
                : [];

            var found = pathDirectories.Concat(debianDirectories).FirstOrDefault(ContainsServerBinaries);
            return found ?? throw new InvalidOperationException(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or under " +
                $"{debianRoot}/*/bin. Install postgresql, e.g. apt-get install -y postgresql, " +
                $"or set {ConnectionStringVariable} to the connection string of a running server.");
        }

        private static bool ContainsServerBinaries(string directory) =>
            new[] { "initdb", "pg_ctl", "postgres" }.All(name => File.Exists(Path.Combine(directory, name)));

        private static Version ParseVersion(string name) =>
            Version.TryParse(name.Contains('.') ? name : name + ".0", out var version) ? version : new Version(0, 0);
    }
}

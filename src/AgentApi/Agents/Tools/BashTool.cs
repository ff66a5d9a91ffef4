using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>
/// <c>bash</c>: runs <c>/bin/bash -c command</c> in the workspace folder with a minimal
/// environment, kills the whole process tree on timeout or cancellation, and returns standard
/// output and standard error together, capped, followed by the exit code.
/// </summary>
/// <remarks>
/// NOTE: only the environment and the working directory are controlled. The command can read
/// and write whatever the service's user can, so the file tools' workspace checks do not bind it.
/// </remarks>
public sealed class BashTool(IOptions<ToolOptions> options, TimeProvider timeProvider, ILogger<BashTool> logger) : IAgentTool
{
    public const string ShellPath = "/bin/bash";

    /// <summary>How long the output pipes may stay open after bash exits, held by background processes.</summary>
    internal static readonly TimeSpan OutputDrainGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait for the killed process to be reaped.</summary>
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private static readonly JsonElement Schema = JsonSerializer.Deserialize<JsonElement>("""
        {
          "type": "object",
          "properties": {
            "command": { "type": "string", "description": "The bash command line to run in the workspace folder." },
            "timeout_seconds": { "type": "integer", "minimum": 1, "description": "Seconds after which the command and its child processes are killed." }
          },
          "required": ["command"],
          "additionalProperties": false
        }
        """);

    private readonly BashToolOptions _options = options.Value.Bash;

    public string Name => ToolNames.Bash;

    public string Description =>
        "Runs a bash command in the workspace folder and returns its standard output and standard error together, " +
        $"then the exit code. Output beyond {_options.MaxOutputBytes / 1024} KiB is cut off. " +
        $"The command is killed after {(int)_options.Timeout.TotalSeconds} s unless timeout_seconds sets another limit " +
        $"(at most {(int)_options.MaxTimeout.TotalSeconds}). Standard input is empty, and HOME is the workspace folder.";

    public JsonElement ParametersSchema => Schema;

    public async Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var command = ToolArguments.GetRequiredString(arguments, "command");
        var timeoutSeconds = ToolArguments.GetOptionalInt(arguments, "timeout_seconds", 1, (int)_options.MaxTimeout.TotalSeconds);
        var timeout = timeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : _options.Timeout;
        var workspace = new Workspace(context.WorkspacePath);

        using var process = new Process { StartInfo = CreateStartInfo(command, workspace.Root) };
        try
        {
            process.Start();
        }
        catch (Win32Exception exception)
        {
            throw new ToolException("unavailable", $"{ShellPath} could not be started: {exception.Message}");
        }

        var started = timeProvider.GetTimestamp();
        process.StandardInput.Close();

        var output = new CappedOutput(_options.MaxOutputBytes);
        using var stopReading = new CancellationTokenSource();
        var reading = Task.WhenAll(
            output.CopyFromAsync(process.StandardOutput.BaseStream, stopReading.Token),
            output.CopyFromAsync(process.StandardError.BaseStream, stopReading.Token));

        using var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            await KillTreeAsync(process, context);
            await StopReadingAsync(reading, stopReading, context, logMissedOutput: false);
            if (cancellationToken.IsCancellationRequested)
            {
                ToolLog.BashCancelled(logger, context.TaskId, context.AgentName);
                throw new OperationCanceledException("The bash command was cancelled.", cancellationToken);
            }

            ToolLog.BashTimedOut(logger, context.TaskId, context.AgentName, (long)timeout.TotalMilliseconds);
            throw new ToolException(
                "timeout",
                $"The command timed out after {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s and was killed with its child processes. " +
                $"Output before the timeout:\n{FormatOutput(output)}");
        }

        var outputStillOpen = !await StopReadingAsync(reading, stopReading, context, logMissedOutput: true);
        var exitCode = process.ExitCode;
        ToolLog.BashExited(
            logger,
            context.TaskId,
            context.AgentName,
            exitCode,
            (long)timeProvider.GetElapsedTime(started).TotalMilliseconds,
            output.TotalBytes);

        var result = new StringBuilder(FormatOutput(output));
        if (outputStillOpen)
        {
            result.Append("[Background processes still held the output open after the command exited. Their later output is not included.]\n");
        }

        return result.Append(CultureInfo.InvariantCulture, $"[Exit code: {exitCode}]").ToString();
    }

    private ProcessStartInfo CreateStartInfo(string command, string workingDirectory)
    {
        var startInfo = new ProcessStartInfo(ShellPath)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(command);

        // The service's environment contains secrets such as ConnectionStrings__Postgres and
        // Auth__ApiKeys__0, so the command gets only these variables.
        startInfo.Environment.Clear();
        startInfo.Environment["PATH"] = _options.Path;
        startInfo.Environment["HOME"] = workingDirectory;
        startInfo.Environment["LANG"] = "C.UTF-8";
        startInfo.Environment["TERM"] = "dumb";
        return startInfo;
    }

    /// <summary>
    /// Kills bash and its descendants and waits for bash to be reaped.
    /// NOTE: a descendant that has left the tree, for example with <c>setsid</c> or a double
    /// fork, is no longer found and keeps running.
    /// </summary>
    private async Task KillTreeAsync(Process process, ToolContext context)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception exception) when (exception is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            ToolLog.BashKillFailed(logger, context.TaskId, context.AgentName, exception);
        }

        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(KillWait, timeProvider);
        }
        catch (TimeoutException exception)
        {
            ToolLog.BashKillFailed(logger, context.TaskId, context.AgentName, exception);
        }
    }

    /// <summary>
    /// Waits up to <see cref="OutputDrainGrace"/> for both output pipes to close, then stops
    /// reading. Returns whether they closed in time.
    /// </summary>
    private async Task<bool> StopReadingAsync(Task reading, CancellationTokenSource stopReading, ToolContext context, bool logMissedOutput)
    {
        try
        {
            await reading.WaitAsync(OutputDrainGrace, timeProvider);
            return true;
        }
        catch (IOException)
        {
            // A broken pipe ends the output as well as a closed one.
            return true;
        }
        catch (TimeoutException)
        {
            if (logMissedOutput)
            {
                ToolLog.BashOutputStillOpen(logger, context.TaskId, context.AgentName, (long)OutputDrainGrace.TotalMilliseconds);
            }

            await stopReading.CancelAsync();
            try
            {
                await reading.WaitAsync(OutputDrainGrace, timeProvider);
            }
            catch (Exception exception) when (exception is OperationCanceledException or TimeoutException or IOException)
            {
                // The pipe is abandoned. Disposing the process closes this side of it.
            }

            return false;
        }
    }

    private string FormatOutput(CappedOutput output)
    {
        var text = output.GetText();
        var result = new StringBuilder(text);
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            result.Append('\n');
        }

        if (output.DroppedBytes > 0)
        {
            result.Append(CultureInfo.InvariantCulture, $"[Output truncated: {output.DroppedBytes} more bytes were discarded, because at most {_options.MaxOutputBytes} bytes are kept.]\n");
        }

        return result.ToString();
    }
}

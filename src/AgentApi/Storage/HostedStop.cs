namespace AgentApi.Storage;

/// <summary>
/// Stops hosted services without letting a hung database hold up the host's stop. Npgsql sends
/// the cancel request for a cancelled command from inside the token's callback: it opens a new
/// connection and waits for the server to close it, up to the connect timeout (15 s by default).
/// Against a server that accepts connections but never replies, such as a paused process, every
/// <see cref="CancellationTokenSource.Cancel()"/> of a token with a command in flight blocks that long.
/// </summary>
internal static class HostedStop
{
    /// <summary>
    /// Cancels <paramref name="source"/> at once but runs its callbacks on a pool thread, so the
    /// caller does not wait for them.
    /// </summary>
    public static void CancelInBackground(CancellationTokenSource source) =>
        _ = source.CancelAsync();

    /// <summary>
    /// Runs <paramref name="dispose"/> on a pool thread after a stop that timed out, because the
    /// work that the stop abandoned can hold up the disposal, and on the caller's thread otherwise.
    /// </summary>
    public static void DisposeAfterStop(Action dispose, bool stopTimedOut)
    {
        if (stopTimedOut)
        {
            _ = Task.Run(dispose, CancellationToken.None);
            return;
        }

        dispose();
    }

    /// <summary>
    /// Runs <paramref name="stop"/> on a pool thread and waits for it until the host's stop token
    /// fires. Then it logs that the service did not stop in time and returns false, instead of
    /// throwing, because an exception out of a hosted service's StopAsync ends the process with a
    /// crash. Returns true when the service stopped in time.
    /// </summary>
    public static async Task<bool> StopWithinTimeoutAsync(
        Func<CancellationToken, Task> stop, string service, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Run(() => stop(cancellationToken), CancellationToken.None).WaitAsync(cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            StorageLog.StopTimedOut(logger, service);
            return false;
        }
    }
}

namespace AgentApi.Storage;

/// <summary>
/// A follower of a token that the host's stop cancels, for the database calls made under it. Its
/// token is cancelled as soon as the followed one, but its callbacks run on a pool thread. Npgsql sends the cancel request for a cancelled query
/// from inside the token's callback and, against a hung server, waits up to its connect timeout
/// (see <see cref="HostedStop"/>). With the original token that wait would run on the thread
/// that cancels it: the host's shutdown timer, or for Hangfire's jobs the thread that handles
/// the stop signal, and it would hold up the rest of the stop.
/// </summary>
internal sealed class BackgroundCancellation : IDisposable
{
    // Never disposed, because it owns no timer or wait handle, and a disposal could race with
    // the callbacks that run on the pool.
    private readonly CancellationTokenSource _source = new();
    private readonly CancellationTokenRegistration _registration;

    public BackgroundCancellation(CancellationToken token) =>
        _registration = token.UnsafeRegister(
            static state => HostedStop.CancelInBackground((CancellationTokenSource)state!),
            _source);

    /// <summary>The token to pass to database calls; cancelled at once when the followed token is.</summary>
    public CancellationToken Token => _source.Token;

    public void Dispose() => _registration.Dispose();
}

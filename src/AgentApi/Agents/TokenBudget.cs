namespace AgentApi.Agents;

/// <summary>
/// The tokens a task tree may still use, shared by the parent's run and every child's. When a
/// call takes the total over the limit, <see cref="Token"/> fires and every run of the tree stops.
/// </summary>
public sealed class TokenBudget(long limit, long alreadyUsed) : IDisposable
{
    private readonly CancellationTokenSource _exceeded = new();
    private long _used = alreadyUsed;

    public long Limit { get; } = limit;

    public long Used => Interlocked.Read(ref _used);

    public bool IsExceeded => Used > Limit;

    /// <summary>A token that is cancelled once the budget is exceeded.</summary>
    public CancellationToken Token => _exceeded.Token;

    /// <summary>Adds a call's tokens. Returns false, and cancels <see cref="Token"/>, when the total now exceeds the limit.</summary>
    public bool Add(long tokens)
    {
        if (Interlocked.Add(ref _used, tokens) <= Limit)
        {
            return true;
        }

        try
        {
            _exceeded.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The tree has finished.
        }

        return false;
    }

    public AgentRunException ExceededError() =>
        new("budget_exceeded", $"The task tree used {Used} tokens, more than its tokenBudget of {Limit}.");

    public void Dispose() => _exceeded.Dispose();
}

using AgentApi.Agents;

namespace AgentApi.Tasks;

/// <summary>
/// Records what one attempt's run does. Model and tool calls are stored with the task's next
/// write (between turns, or with its outcome), so a one-turn run costs no extra write. A wait for
/// a model's rate limit is stored at once, so that it shows while it lasts. Model output is
/// gathered and stored as one <c>output</c> event at most once per <paramref name="outputInterval"/>.
/// </summary>
internal sealed class AttemptObserver(
    TaskWorkItem item,
    Func<Func<AgentTask, TaskEventBuffer, bool>, Task> updateFenced,
    TimeSpan outputInterval,
    TimeProvider timeProvider) : IAgentRunObserver
{
    private const string RateLimitedPrefix = "Rate limited: waiting for model";

    private readonly Lock _sync = new();
    private readonly List<(string Type, object Data)> _pending = [];
    private readonly System.Text.StringBuilder _output = new();
    private bool _outputFlushScheduled;
    private long _inputTokens;
    private long _outputTokens;
    private Task _writes = Task.CompletedTask;
    private (int Percent, string Message)? _progress;
    private bool _flushQueued;

    public void OnModelCall(ModelCallRecord call)
    {
        lock (_sync)
        {
            // The call's text came before the call ended.
            TakeOutput();
            _inputTokens += call.InputTokens;
            _outputTokens += call.OutputTokens;
            _pending.Add((TaskEventTypes.ModelCall, new
            {
                turn = call.Turn,
                purpose = call.Purpose,
                model = call.Model,
                inputTokens = call.InputTokens,
                outputTokens = call.OutputTokens,
                durationMs = call.DurationMs,
            }));
        }
    }

    public void OnToolCall(ToolCallRecord call)
    {
        lock (_sync)
        {
            _pending.Add((TaskEventTypes.ToolCall, new { turn = call.Turn, tool = call.Tool, error = call.ErrorCode, durationMs = call.DurationMs }));
        }
    }

    public void OnEvent(string type, object data) => Record(type, data);

    public void OnOutput(string text)
    {
        // A beat's reply is announced only once it is known not to be "nothing needs attention".
        if (item.Task.Origin == Heartbeat.HeartbeatService.Origin)
        {
            return;
        }

        lock (_sync)
        {
            _output.Append(text);
            if (_outputFlushScheduled)
            {
                return;
            }

            _outputFlushScheduled = true;
        }

        _ = FlushOutputLaterAsync();
    }

    public ValueTask OnTurnEndedAsync(CancellationToken cancellationToken) => new(Enqueue(static (_, _) => { }));

    /// <summary>
    /// Records an event, and optionally new progress, in the task's next write. Events that
    /// arrive while a write is under way share the following one, so a burst of children
    /// finishing costs a few writes of the parent, not one each.
    /// </summary>
    public void Record(string type, object data, (int Percent, string Message)? progress = null)
    {
        lock (_sync)
        {
            _pending.Add((type, data));
            _progress = progress ?? _progress;
            if (_flushQueued)
            {
                return;
            }

            _flushQueued = true;
        }

        _ = Enqueue(static (_, _) => { });
    }

    public void OnWaiting(string modelName)
    {
        item.IsRateLimited = true;
        _ = Enqueue((task, events) =>
        {
            task.ProgressMessage = $"{RateLimitedPrefix} '{modelName}'";
            events.Add(TaskEventTypes.RateLimited, new { model = modelName });
        });
    }

    public void OnPermitted(string modelName)
    {
        item.IsRateLimited = false;
        _ = Enqueue((task, _) =>
        {
            if (task.ProgressMessage?.StartsWith(RateLimitedPrefix, StringComparison.Ordinal) == true)
            {
                task.ProgressMessage = null;
            }
        });
    }

    /// <summary>Stores a change of the task after the writes started before it, together with what is pending.</summary>
    public Task WriteAsync(Action<AgentTask, TaskEventBuffer> change) => Enqueue(change);

    /// <summary>
    /// Adds what is pending to a change of the task and returns what it added; pass that to
    /// <see cref="Stored"/> once the change is saved.
    /// </summary>
    public (int Events, long InputTokens, long OutputTokens) Apply(AgentTask task, TaskEventBuffer events)
    {
        lock (_sync)
        {
            _flushQueued = false;
            TakeOutput();
            if (_progress is { } progress)
            {
                task.ProgressPercent = progress.Percent;
                task.ProgressMessage = progress.Message;
            }

            foreach (var (type, data) in _pending)
            {
                events.Add(type, data);
            }

            if (_inputTokens != 0 || _outputTokens != 0)
            {
                task.InputTokens = (task.InputTokens ?? 0) + _inputTokens;
                task.OutputTokens = (task.OutputTokens ?? 0) + _outputTokens;
            }

            return (_pending.Count, _inputTokens, _outputTokens);
        }
    }

    /// <summary>Forgets what <see cref="Apply"/> added, once the change that carried it is saved.</summary>
    public void Stored((int Events, long InputTokens, long OutputTokens) applied)
    {
        lock (_sync)
        {
            _pending.RemoveRange(0, Math.Min(applied.Events, _pending.Count));
            _inputTokens -= applied.InputTokens;
            _outputTokens -= applied.OutputTokens;
        }
    }

    /// <summary>
    /// Makes the writes recorded from now on wait for <paramref name="startWrite"/>, the start write
    /// of a run that does not wait for it, so that their events come after the <c>started</c> event.
    /// </summary>
    public void WriteAfter(Task startWrite)
    {
        // The attempt handles a failed start write, and the writes after it run either way.
        var settled = startWrite.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        lock (_sync)
        {
            _writes = settled;
        }
    }

    /// <summary>Waits for the writes started so far, such as a rate limit notice.</summary>
    public Task DrainAsync()
    {
        lock (_sync)
        {
            return _writes;
        }
    }

    /// <summary>
    /// Waits for the output interval, so that the text arriving meanwhile goes in the same event,
    /// then stores it. A write that happens sooner for another reason takes the text with it.
    /// </summary>
    private async Task FlushOutputLaterAsync()
    {
        if (outputInterval > TimeSpan.Zero)
        {
            await Task.Delay(outputInterval, timeProvider);
        }

        lock (_sync)
        {
            _outputFlushScheduled = false;
            if (_output.Length == 0)
            {
                return;
            }
        }

        await Enqueue(static (_, _) => { });
    }

    /// <summary>Moves the output heard so far into the pending events; called under the lock.</summary>
    private void TakeOutput()
    {
        if (_output.Length > 0)
        {
            _pending.Add((TaskEventTypes.Output, new { text = _output.ToString() }));
            _output.Clear();
        }
    }

    private Task Enqueue(Action<AgentTask, TaskEventBuffer> change)
    {
        lock (_sync)
        {
            _writes = _writes.ContinueWith(
                _ => StoreAsync(change),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default).Unwrap();
            return _writes;
        }
    }

    private async Task StoreAsync(Action<AgentTask, TaskEventBuffer> change)
    {
        (int, long, long) applied = default;
        try
        {
            await updateFenced((task, events) =>
            {
                if (task.IsFinished)
                {
                    return false;
                }

                applied = Apply(task, events);
                change(task, events);
                return true;
            });
            Stored(applied);
        }
        catch (Exception exception) when (exception is LeaseLostException || StorageRetry.IsStorageFailure(exception))
        {
            // Best effort: what was not stored goes with the attempt's outcome.
        }
    }
}

namespace AgentApi.Tasks;

public sealed partial class TaskStore
{
    /// <summary>One change waiting to be saved, with the caller's result type hidden.</summary>
    private abstract class PendingUpdate(Guid id)
    {
        public Guid Id { get; } = id;

        /// <summary>Runs the change on the task loaded for the batch.</summary>
        public abstract void Apply(AgentTask task, TaskEventBuffer events);

        /// <summary>Keeps what the batch will report once it is saved.</summary>
        public abstract void Saved(AgentTask task, IReadOnlyList<TaskEvent> events);

        /// <summary>Publishes the saved change's events and reports the change, or null when the task did not exist.</summary>
        public abstract void Complete(TaskStore store);

        /// <summary>Saves the change in a transaction of its own and reports how that went.</summary>
        public abstract Task RunAloneAsync();

        public abstract void Fail(Exception exception);
    }

    private sealed class PendingUpdate<TResult>(
        TaskStore store,
        Guid id,
        Func<AgentTask, TaskEventBuffer, TResult> change,
        CancellationToken cancellationToken) : PendingUpdate(id)
    {
        private TResult _result = default!;
        private TaskChange<TResult>? _saved;

        public TaskCompletionSource<TaskChange<TResult>?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Apply(AgentTask task, TaskEventBuffer events) => _result = change(task, events);

        public override void Saved(AgentTask task, IReadOnlyList<TaskEvent> events) => _saved = new TaskChange<TResult>(task, _result, events);

        public override void Complete(TaskStore store)
        {
            if (_saved is not null)
            {
                store.Published(_saved.Task, _saved.Events);
            }

            Completion.TrySetResult(_saved);
        }

        public override void Fail(Exception exception) => Completion.TrySetException(exception);

        public override async Task RunAloneAsync()
        {
            try
            {
                Completion.TrySetResult(await store.UpdateAloneAsync(Id, change, cancellationToken));
            }
            catch (OperationCanceledException exception) when (cancellationToken.IsCancellationRequested)
            {
                Completion.TrySetCanceled(exception.CancellationToken);
            }
            catch (Exception exception)
            {
                Completion.TrySetException(exception);
            }
        }
    }

    /// <summary>A new task waiting to be inserted with its first events.</summary>
    private sealed class PendingInsert(AgentTask task, TaskEventBuffer buffer, CancellationToken cancellationToken)
    {
        private readonly long _lastSequence = task.LastSequence;

        public AgentTask Task { get; } = task;

        public TaskEventBuffer Buffer { get; } = buffer;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource<IReadOnlyList<TaskEvent>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Undoes what a failed save left on the task, so that the next save numbers its events from the start.</summary>
        public void Reset() => Task.LastSequence = _lastSequence;
    }
}

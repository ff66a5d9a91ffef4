using AgentApi.Tasks;

namespace AgentApi.Events;

/// <summary>Receives published task events. Calls come from the thread that saved them, so they must not block.</summary>
public interface ITaskEventSink
{
    void OnEvent(TaskEvent taskEvent);

    /// <summary>
    /// Says that events may have been missed, such as while the link to other instances was down:
    /// a reader that keeps a position reads the stored events after it again.
    /// </summary>
    void OnResync();
}

namespace AgentApi.Tasks;

/// <summary>Hears that a task has just reached its final state, once the change is saved.</summary>
public interface ITaskOutcomeListener
{
    /// <summary>Called on the thread that saved the change, so it must return quickly and must not throw.</summary>
    void OnFinished(AgentTask task);
}

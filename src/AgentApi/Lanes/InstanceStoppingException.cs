namespace AgentApi.Lanes;

/// <summary>
/// The exception for work that cannot go on because this instance is stopping, so its lane
/// dispatcher takes no new work or handed waiting work back. Such work is not failed. It goes back
/// to its queue, and the next instance to start runs it.
/// </summary>
public sealed class InstanceStoppingException(string message) : OperationCanceledException(message);

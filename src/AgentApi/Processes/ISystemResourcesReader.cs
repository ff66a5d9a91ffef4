namespace AgentApi.Processes;

/// <summary>Reads the processor count, CPU affinity and cgroup limits of the service process, for the API and the dashboard.</summary>
public interface ISystemResourcesReader
{
    /// <summary>Reads the current values from <c>/proc</c> and <c>/sys</c>. A value that cannot be read is null, never an exception.</summary>
    SystemResources Read();
}

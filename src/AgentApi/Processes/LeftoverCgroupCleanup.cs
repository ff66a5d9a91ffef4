namespace AgentApi.Processes;

/// <summary>
/// At start, ends the programs and removes the run cgroups that a killed service process left
/// behind. Without it, a process agent's program outlives a <c>kill -9</c> of the service and runs
/// beside its own retry.
/// </summary>
internal sealed class LeftoverCgroupCleanup(ProcessCgroups cgroups, TimeProvider timeProvider) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => cgroups.RemoveLeftoversAsync(timeProvider);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

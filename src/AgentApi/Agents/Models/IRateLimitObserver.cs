using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Models;

/// <summary>
/// Hears when a model call has to wait for its model's limits and when it gets its permit. A run
/// passes one in <see cref="ChatOptions.AdditionalProperties"/> under <see cref="OptionsKey"/>.
/// </summary>
public interface IRateLimitObserver
{
    public const string OptionsKey = "agentapi.rate_limit_observer";

    void OnWaiting(string modelName);

    void OnPermitted(string modelName);
}

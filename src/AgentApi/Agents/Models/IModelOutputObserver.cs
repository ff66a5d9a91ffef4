using Microsoft.Extensions.AI;

namespace AgentApi.Agents.Models;

/// <summary>
/// Hears a model's reply text as it arrives. A run passes one in
/// <see cref="ChatOptions.AdditionalProperties"/> under <see cref="OptionsKey"/> for the calls
/// whose text users should watch (turns and synthesis, not plans).
/// </summary>
public interface IModelOutputObserver
{
    public const string OptionsKey = "agentapi.output_observer";

    /// <summary>Text that follows what was heard before; called from the model call's own flow, so it must not block.</summary>
    void OnOutput(string text);
}

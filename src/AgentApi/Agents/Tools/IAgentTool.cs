using System.Text.Json;

namespace AgentApi.Agents.Tools;

/// <summary>
/// A tool an agent's model may call. The tool loop offers the model only the tools the agent
/// allows, and checks the allowlist again before any call runs.
/// </summary>
public interface IAgentTool
{
    /// <summary>One of <see cref="ToolNames"/>.</summary>
    string Name { get; }

    /// <summary>What the tool does, written for the model.</summary>
    string Description { get; }

    /// <summary>JSON schema of the arguments object.</summary>
    JsonElement ParametersSchema { get; }

    /// <summary>
    /// Runs the tool and returns the text the model receives. A failure the model should hear
    /// about (a bad path, a missing file, a timeout) is thrown as <see cref="ToolException"/>.
    /// </summary>
    Task<string> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken);
}

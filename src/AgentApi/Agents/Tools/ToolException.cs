namespace AgentApi.Agents.Tools;

/// <summary>A tool failure reported to the model as the call's result; the task goes on.</summary>
/// <param name="code">A short machine-readable code such as <c>not_found</c>, <c>outside_workspace</c> or <c>forbidden</c>.</param>
/// <param name="message">What went wrong, written for the model.</param>
public sealed class ToolException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

namespace AgentApi.Processes;

/// <summary>The program a process agent runs instead of calling a model.</summary>
/// <param name="Command">The program: a path, or a name looked up on the child's <c>PATH</c>.</param>
/// <param name="Arguments">Its arguments. Each <c>{input}</c> in them is replaced by the task input; without one, the input goes to standard input.</param>
/// <param name="WorkingDirectory">The folder it starts in; null means the task's workspace. A relative path is relative to the workspace.</param>
/// <param name="Environment">Variables set for the program, by name. Nothing else of the service's environment reaches it, except PATH, HOME and LANG, which get defaults.</param>
/// <param name="InheritedVariables">Names of the service's own variables passed on with their values.</param>
/// <param name="Limits">Its CPU list, CPU quota, memory, process and time limits.</param>
public sealed record ProcessAgentSpec(
    string Command,
    IReadOnlyList<string> Arguments,
    string? WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<string> InheritedVariables,
    ProcessLimits Limits)
{
    /// <summary>The placeholder in <see cref="Arguments"/> that the task input replaces.</summary>
    public const string InputPlaceholder = "{input}";

    /// <summary>Whether the task input is passed as an argument rather than on standard input.</summary>
    public bool TakesInputAsArgument => Arguments.Any(argument => argument.Contains(InputPlaceholder, StringComparison.Ordinal));
}

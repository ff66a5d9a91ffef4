namespace AgentApi.Processes;

/// <summary>
/// Builds a program's environment. The service's own environment contains secrets such as
/// <c>ConnectionStrings__Postgres</c>, so the program gets only <c>PATH</c> (the setting
/// <c>Processes:Path</c>), <c>HOME</c> (the working directory) and <c>LANG</c>
/// (<c>C.UTF-8</c>), then the variables the agent file passes on or sets, which win.
/// </summary>
internal static class ProcessEnvironment
{
    public static Dictionary<string, string> Build(ProcessAgentSpec spec, string workingDirectory, string path)
    {
        Dictionary<string, string> variables = new(StringComparer.Ordinal)
        {
            ["PATH"] = path,
            ["HOME"] = workingDirectory,
            ["LANG"] = "C.UTF-8",
        };

        foreach (var name in spec.InheritedVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                variables[name] = value;
            }
        }

        foreach (var (name, value) in spec.Environment)
        {
            variables[name] = value;
        }

        return variables;
    }

    /// <summary>Finds <paramref name="command"/> the way <c>execvp</c> does: as a path when it contains <c>/</c>, else on <paramref name="path"/>.</summary>
    public static string? FindExecutable(string command, string path, string workingDirectory)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(command, workingDirectory);
            return File.Exists(full) ? full : null;
        }

        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Join(directory, command);
            if (Path.IsPathFullyQualified(candidate) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

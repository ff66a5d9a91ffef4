using System.Text.RegularExpressions;

namespace AgentApi.Agents.Tools;

/// <summary>Workspace names: one folder under the workspace root, never a path.</summary>
public static partial class WorkspaceNames
{
    public const int MaxLength = 64;

    public static bool IsValid(string name) => name is not ("." or "..") && Pattern().IsMatch(name);

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

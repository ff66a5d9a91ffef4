namespace AgentApi.Agents.Tools;

/// <summary>Walks a workspace tree for <c>glob</c> and <c>grep</c>.</summary>
internal static class WorkspaceScanner
{
    /// <summary>
    /// Collects the files below <paramref name="startDirectory"/>, up to <paramref name="maxFiles"/>.
    /// Links whose target is outside the workspace are skipped. Links to files inside are listed,
    /// and links to folders inside are not entered, so a link loop cannot make the walk endless.
    /// Folders that cannot be read are skipped.
    /// </summary>
    public static (List<WorkspaceEntry> Files, bool Truncated) ScanFiles(
        Workspace workspace,
        string startDirectory,
        int maxFiles,
        CancellationToken cancellationToken)
    {
        List<WorkspaceEntry> files = [];
        var pending = new Stack<string>();
        pending.Push(startDirectory);
        while (pending.TryPop(out var directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var entry in EnumerateOrEmpty(workspace, directory))
            {
                if (entry.Kind == WorkspaceEntryKind.Directory)
                {
                    if (!entry.IsLink)
                    {
                        pending.Push(entry.Path);
                    }

                    continue;
                }

                if (files.Count == maxFiles)
                {
                    return (files, true);
                }

                files.Add(entry);
            }
        }

        return (files, false);
    }

    private static List<WorkspaceEntry> EnumerateOrEmpty(Workspace workspace, string directory)
    {
        try
        {
            return workspace.EnumerateEntries(directory).ToList();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Removed or unreadable while the walk ran. The rest of the tree is still searched.
            return [];
        }
    }
}

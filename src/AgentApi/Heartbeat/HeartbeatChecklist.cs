using System.Text.Json;

namespace AgentApi.Heartbeat;

/// <summary>Builds a beat's prompt from the checklist items, or from the workspace's <c>HEARTBEAT.md</c>.</summary>
public static class HeartbeatChecklist
{
    /// <summary>Largest <c>HEARTBEAT.md</c> read; a larger file is cut there.</summary>
    public const int MaxFileBytes = 64 * 1024;

    /// <summary>Returns the checklist text, or null when there is nothing to check: no items, no file, or a file with only headings.</summary>
    public static string? Load(HeartbeatState state, string workspacePath)
    {
        if (state.ChecklistJson is not null)
        {
            var items = JsonSerializer.Deserialize<List<string>>(state.ChecklistJson) ?? [];
            return items.Count == 0 ? null : string.Join('\n', items.Select(item => "- " + item));
        }

        var path = Path.Combine(workspacePath, HeartbeatDefaults.ChecklistFile);
        if (!File.Exists(path))
        {
            return null;
        }

        string text;
        using (var stream = File.OpenRead(path))
        {
            var buffer = new byte[MaxFileBytes];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        }

        return HasContent(text) ? text.Trim() : null;
    }

    /// <summary>Returns whether a checklist file has a line other than blank lines and Markdown headings.</summary>
    public static bool HasContent(string text) =>
        text.Split('\n').Select(line => line.Trim()).Any(line => line.Length > 0 && !line.StartsWith('#'));

    public static string Prompt(string checklist) =>
        "This is a heartbeat: a periodic check, not a message from the user. Go through the checklist below. "
        + $"If nothing needs attention, reply with {HeartbeatReply.Token} alone. Otherwise reply with what needs attention and why, briefly.\n\n"
        + "Checklist:\n" + checklist;
}

using System.Text;

namespace AgentApi.Agents.Files;

/// <summary>
/// Reads every <c>*.md</c> file directly in the agent folder. Files are taken in ordinal order of
/// their names, so when two define the same agent the first one wins, every time.
/// </summary>
internal static class AgentDirectoryLoader
{
    /// <summary>Maximum size of an agent file, in bytes. Larger files are listed as broken.</summary>
    public const int MaxFileBytes = 256 * 1024;

    public const string SearchPattern = "*.md";

    /// <summary>Subfolders are not searched, and hidden files (names starting with '.' on Unix) are skipped.</summary>
    public static readonly EnumerationOptions FileEnumeration = new()
    {
        MatchCasing = MatchCasing.CaseInsensitive,
        RecurseSubdirectories = false,
    };

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static AgentDirectoryContents Load(string directory, IReadOnlyCollection<string> modelNames)
    {
        if (File.Exists(directory))
        {
            return new AgentDirectoryContents(Exists: true, [], [new BrokenAgentFile(directory, "the path is a file, not a folder of agent files")]);
        }

        string[] files;
        try
        {
            files = Directory.GetFiles(directory, SearchPattern, FileEnumeration);
        }
        catch (DirectoryNotFoundException)
        {
            return new AgentDirectoryContents(Exists: false, [], []);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new AgentDirectoryContents(Exists: true, [], [new BrokenAgentFile(directory, $"the folder could not be read: {exception.Message}")]);
        }

        Array.Sort(files, (left, right) => string.CompareOrdinal(Path.GetFileName(left), Path.GetFileName(right)));

        List<AgentDefinition> agents = [];
        List<BrokenAgentFile> broken = [];
        Dictionary<string, string> fileByName = new(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!TryReadText(file, out var text, out var reason))
            {
                if (reason is not null)
                {
                    broken.Add(new BrokenAgentFile(file, reason));
                }

                continue;
            }

            if (!AgentFileParser.TryParse(text, file, modelNames, out var definition, out reason))
            {
                broken.Add(new BrokenAgentFile(file, reason));
                continue;
            }

            if (fileByName.TryGetValue(definition.Name, out var firstFile))
            {
                broken.Add(new BrokenAgentFile(
                    file,
                    $"agent '{definition.Name}' is already defined by '{Path.GetFileName(firstFile)}', which comes first in file-name order"));
                continue;
            }

            fileByName[definition.Name] = file;
            agents.Add(definition);
        }

        return new AgentDirectoryContents(Exists: true, agents, broken);
    }

    /// <summary>
    /// Reads one file as UTF-8. Returns false with a null reason when the file or its folder was removed
    /// after the folder was listed, because the watcher then reloads without it.
    /// </summary>
    private static bool TryReadText(string file, out string text, out string? reason)
    {
        text = string.Empty;
        try
        {
            using var stream = new FileStream(file, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
            });
            if (stream.Length > MaxFileBytes)
            {
                reason = $"the file has {stream.Length} bytes; agent files may have at most {MaxFileBytes}";
                return false;
            }

            using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
            text = reader.ReadToEnd();
            reason = null;
            return true;
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            reason = null;
            return false;
        }
        catch (DecoderFallbackException)
        {
            reason = "the file is not valid UTF-8";
            return false;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            reason = $"the file could not be read: {exception.Message}";
            return false;
        }
    }
}

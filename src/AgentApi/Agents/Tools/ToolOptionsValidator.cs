using Microsoft.Extensions.Options;

namespace AgentApi.Agents.Tools;

/// <summary>Checks <see cref="ToolOptions"/> at start-up. Each failure names the setting and its allowed range.</summary>
internal sealed class ToolOptionsValidator : IValidateOptions<ToolOptions>
{
    private const int MinBytes = 1024;

    // Room for the longest line read_file shows, so the first line of a file always fits.
    private const int MinReadBytes = 16 * 1024;
    private const int MaxBytes = 64 * 1024 * 1024;
    private const int MaxCount = 1_000_000;
    private const int MaxRedirectsLimit = 20;
    private static readonly TimeSpan MaxGrepMatchTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBashTimeoutLimit = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxWebFetchTimeout = TimeSpan.FromMinutes(5);

    public ValidateOptionsResult Validate(string? name, ToolOptions options)
    {
        List<string> failures = [];

        if (options.WorkspaceRoot is { } root && string.IsNullOrWhiteSpace(root))
        {
            failures.Add("Tools:WorkspaceRoot is blank. Remove it to use the default or set a folder path.");
        }

        CheckRange(failures, "Tools:MaxReadBytes", options.MaxReadBytes, MinReadBytes, MaxBytes, "bytes");
        CheckRange(failures, "Tools:MaxWriteBytes", options.MaxWriteBytes, MinBytes, MaxBytes, "bytes");
        CheckRange(failures, "Tools:MaxEntries", options.MaxEntries, 1, MaxCount, "entries");
        CheckRange(failures, "Tools:MaxGrepMatches", options.MaxGrepMatches, 1, MaxCount, "lines");
        CheckRange(failures, "Tools:MaxScannedFiles", options.MaxScannedFiles, 1, MaxCount, "files");
        CheckRange(failures, "Tools:MaxGrepFileBytes", options.MaxGrepFileBytes, MinBytes, int.MaxValue, "bytes");
        CheckRange(failures, "Tools:GrepMatchTimeout", options.GrepMatchTimeout, TimeSpan.FromMilliseconds(1), MaxGrepMatchTimeout);

        var bash = options.Bash;
        CheckRange(failures, "Tools:Bash:MaxTimeout", bash.MaxTimeout, TimeSpan.FromSeconds(1), MaxBashTimeoutLimit);
        CheckRange(failures, "Tools:Bash:Timeout", bash.Timeout, TimeSpan.FromSeconds(1), bash.MaxTimeout, "Tools:Bash:MaxTimeout");
        CheckRange(failures, "Tools:Bash:MaxOutputBytes", bash.MaxOutputBytes, MinBytes, MaxBytes, "bytes");
        if (string.IsNullOrWhiteSpace(bash.Path))
        {
            failures.Add("Tools:Bash:Path is blank. Set the PATH the bash tool's commands run with, e.g. /usr/bin:/bin.");
        }

        var webFetch = options.WebFetch;
        CheckRange(failures, "Tools:WebFetch:MaxResponseBytes", webFetch.MaxResponseBytes, MinBytes, MaxBytes, "bytes");
        CheckRange(failures, "Tools:WebFetch:Timeout", webFetch.Timeout, TimeSpan.FromSeconds(1), MaxWebFetchTimeout);
        CheckRange(failures, "Tools:WebFetch:MaxRedirects", webFetch.MaxRedirects, 0, MaxRedirectsLimit, "redirects");
        for (var i = 0; i < webFetch.AllowedHosts.Count; i++)
        {
            if (!HostAllowlist.TryParseEntry(webFetch.AllowedHosts[i], out _))
            {
                failures.Add(
                    $"Tools:WebFetch:AllowedHosts:{i} is '{webFetch.AllowedHosts[i]}', which is not a host name or " +
                    "address with an optional port. Write entries such as docs.example.com, 127.0.0.1:5123 or [::1]:8080, " +
                    "without a scheme or path.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckRange(List<string> failures, string setting, int value, int min, int max, string unit)
    {
        if (value < min || value > max)
        {
            failures.Add($"{setting} is {value}, but it must be from {min} to {max} {unit}.");
        }
    }

    private static void CheckRange(
        List<string> failures,
        string setting,
        TimeSpan value,
        TimeSpan min,
        TimeSpan max,
        string? maxSetting = null)
    {
        if (value < min || value > max)
        {
            var upper = maxSetting is null ? $"{max}" : $"{max} ({maxSetting})";
            failures.Add($"{setting} is {value}, but it must be from {min} to {upper}.");
        }
    }
}

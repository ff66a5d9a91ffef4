namespace AgentApi.Processes;

internal static partial class ProcessesLog
{
    [LoggerMessage(9001, LogLevel.Warning,
        "Reading '{Path}' failed, so system resources report its value as null. Later failures of this file are not logged.")]
    public static partial void FileUnreadable(ILogger logger, string path, Exception exception);

    [LoggerMessage(9002, LogLevel.Warning,
        "'{Path}' contains '{Content}', which is not a valid {Expected}, so system resources report it as null. Later failures of this file are not logged.")]
    public static partial void ValueInvalid(ILogger logger, string path, string content, string expected);
}

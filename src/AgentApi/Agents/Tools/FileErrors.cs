namespace AgentApi.Agents.Tools;

/// <summary>Turns file system exceptions into <see cref="ToolException"/>s that name the path as the model wrote it.</summary>
internal static class FileErrors
{
    public static bool IsFileError(Exception exception) =>
        exception is IOException or UnauthorizedAccessException;

    public static ToolException ToToolException(Exception exception, string path) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException =>
            new ToolException("not_found", $"'{path}' does not exist."),
        UnauthorizedAccessException =>
            new ToolException("permission_denied", $"Access to '{path}' was denied."),
        _ => new ToolException("io_error", $"'{path}' could not be accessed: {exception.Message}"),
    };

    public static ToolException NotFound(string path) => new("not_found", $"'{path}' does not exist.");
}

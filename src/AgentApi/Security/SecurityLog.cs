namespace AgentApi.Security;

internal static partial class SecurityLog
{
    [LoggerMessage(2001, LogLevel.Warning,
        "No API key is configured (Auth__ApiKeys__0), so a key named '{KeyName}' was generated and " +
        "printed on the console once. Only its hash is stored.")]
    public static partial void KeyGenerated(ILogger logger, string keyName);

    [LoggerMessage(2002, LogLevel.Information, "Dashboard sign-in succeeded for key '{KeyName}'.")]
    public static partial void SignedIn(ILogger logger, string keyName);

    [LoggerMessage(2003, LogLevel.Warning, "Dashboard sign-in failed: the key is not valid. Remote address {RemoteAddress}.")]
    public static partial void SignInFailed(ILogger logger, string? remoteAddress);
}

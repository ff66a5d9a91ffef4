namespace AgentApi.Storage;

/// <summary>The database cannot be used at start-up; the message names the setting to change.</summary>
public sealed class StorageStartupException(string message, Exception innerException)
    : Exception(message, innerException);

namespace AgentApi.Storage;

/// <summary>The database cannot be used at start-up; the message says what to change.</summary>
public sealed class StorageStartupException(string message, Exception innerException)
    : Exception(message, innerException);

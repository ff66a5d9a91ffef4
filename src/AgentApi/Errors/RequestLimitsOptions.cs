namespace AgentApi.Errors;

/// <summary>Settings under <c>Limits</c>.</summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "Limits";

    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Largest request body accepted, in bytes. Defaults to 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;
}

namespace AgentApi.Security;

/// <summary>Cross-origin access, under <c>Cors</c>: closed unless origins are listed.</summary>
public sealed class CorsSettings
{
    public const string SectionName = "Cors";
    public const string PolicyName = "configured-origins";

    /// <summary>Origins, such as <c>https://app.example.com</c>, whose pages may call the API with a key. Empty by default.</summary>
    public List<string> AllowedOrigins { get; set; } = [];
}

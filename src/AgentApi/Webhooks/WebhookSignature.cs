using System.Security.Cryptography;
using System.Text;

namespace AgentApi.Webhooks;

/// <summary>
/// The signature of a delivery: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the exact body
/// bytes, keyed with <see cref="WebhookOptions.Secret"/>. A receiver computes the same over the
/// body it read and compares in constant time.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-AgentApi-Signature";
    public const string DeliveryHeader = "X-AgentApi-Delivery";
    public const string AttemptHeader = "X-AgentApi-Attempt";
    public const string EventHeader = "X-AgentApi-Event";
    public const string Prefix = "sha256=";

    public static string Compute(ReadOnlySpan<byte> body, string secret) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Returns whether <paramref name="signature"/> is the signature of <paramref name="body"/>, in constant time.</summary>
    public static bool Verify(ReadOnlySpan<byte> body, string secret, string? signature) =>
        signature is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(body, secret)), Encoding.ASCII.GetBytes(signature));
}

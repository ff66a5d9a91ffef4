using System.Security.Cryptography;
using System.Text;

namespace AgentApi.Security;

internal static class ApiKeyHasher
{
    private const string KeyPrefix = "aak_";

    /// <summary>Creates a new random key: a fixed prefix and 32 random bytes, base64url.</summary>
    public static string CreateKey() =>
        KeyPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string HashToHex(string key) => Convert.ToHexStringLower(Hash(key));
}

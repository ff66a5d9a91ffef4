using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents.Tools;

/// <summary>Parsing and matching of <c>Tools:WebFetch:AllowedHosts</c>. Nothing here connects anywhere.</summary>
public sealed class HostAllowlistTests
{
    [Theory]
    [InlineData("docs.example.com")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:5123")]
    [InlineData("[::1]")]
    [InlineData("[::1]:8080")]
    [InlineData("localhost")]
    public void TryParseEntry_ValidEntry_IsAccepted(string entry)
    {
        Assert.True(HostAllowlist.TryParseEntry(entry, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("https://docs.example.com")]
    [InlineData("docs.example.com/path")]
    [InlineData("user@docs.example.com")]
    [InlineData("::1")]
    [InlineData("[docs.example.com]")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:port")]
    public void TryParseEntry_InvalidEntry_IsRejected(string entry)
    {
        Assert.False(HostAllowlist.TryParseEntry(entry, out _));
    }

    [Theory]
    [InlineData("https://DOCS.example.com/page", true)]
    [InlineData("https://docs.example.com:8443/page", true)]
    [InlineData("https://api.docs.example.com/", false)]
    [InlineData("https://example.com/", false)]
    [InlineData("https://docs.example.com.evil.test/", false)]
    [InlineData("http://127.0.0.1:5123/", true)]
    [InlineData("http://127.0.0.1:5124/", false)]
    [InlineData("http://[::1]:8080/", true)]
    public void IsAllowed_Url_MatchesHostAndPort(string url, bool expected)
    {
        var allowlist = new HostAllowlist(["Docs.Example.Com", "127.0.0.1:5123", "[::1]"]);

        Assert.Equal(expected, allowlist.IsAllowed(new Uri(url)));
    }
}

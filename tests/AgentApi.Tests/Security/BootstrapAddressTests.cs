using AgentApi.Security;

namespace AgentApi.Tests.Security;

public sealed class BootstrapAddressTests
{
    [Theory]
    [InlineData("http://[::]:8080", "http://localhost:8080")]
    [InlineData("http://0.0.0.0:8080", "http://localhost:8080")]
    [InlineData("http://+:8080", "http://localhost:8080")]
    [InlineData("http://*:5000", "http://localhost:5000")]
    [InlineData("http://127.0.0.1:5301", "http://127.0.0.1:5301")]
    [InlineData("https://agents.example.test:8443", "https://agents.example.test:8443")]
    public void BrowsableAddress_WildcardHost_BecomesLocalhost(string listening, string expected)
    {
        Assert.Equal(expected, BootstrapKeyService.BrowsableAddress(listening));
    }
}

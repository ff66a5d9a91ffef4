using System.Globalization;
using AgentApi.Lanes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentApi.Tests.Lanes;

public sealed class LaneOptionsTests
{
    [Theory]
    [InlineData("Dispatcher:AgeingInterval", "-00:00:01")]
    [InlineData("Dispatcher:AgeingInterval", "2.00:00:00")]
    [InlineData("Dispatcher:WaitLogThreshold", "-00:00:01")]
    [InlineData("Dispatcher:ShutdownGracePeriod", "-00:00:02")]
    [InlineData("Dispatcher:ShutdownGracePeriod", "30.00:00:00")]
    public void DispatcherOptions_OutOfRange_FailNamingSetting(string key, string value)
    {
        using var services = BuildServices(key, value);

        var exception = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<LaneDispatcherOptions>>().Value);

        Assert.Contains($"{key} must be from 00:00:00", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Dispatcher:AgeingInterval", "00:00:00")]
    [InlineData("Dispatcher:WaitLogThreshold", "00:00:00")]
    [InlineData("Dispatcher:ShutdownGracePeriod", "1.00:00:00")]
    public void DispatcherOptions_Bounds_AreAccepted(string key, string value)
    {
        using var services = BuildServices(key, value);

        var options = services.GetRequiredService<IOptions<LaneDispatcherOptions>>().Value;
        var bound = key switch
        {
            "Dispatcher:AgeingInterval" => options.AgeingInterval,
            "Dispatcher:WaitLogThreshold" => options.WaitLogThreshold,
            _ => options.ShutdownGracePeriod,
        };

        Assert.Equal(TimeSpan.Parse(value, CultureInfo.InvariantCulture), bound);
    }

    private static ServiceProvider BuildServices(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        return new ServiceCollection().AddLogging().AddLanes(configuration).BuildServiceProvider();
    }
}

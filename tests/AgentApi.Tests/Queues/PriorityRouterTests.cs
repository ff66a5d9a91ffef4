using AgentApi.Queues;
using AgentApi.Tasks;
using Microsoft.Extensions.Options;

namespace AgentApi.Tests.Queues;

public sealed class PriorityRouterTests
{
    private static PriorityRouter CreateRouter(params (string Pattern, string Priority)[] routes) =>
        new(Options.Create(new QueueOptions
        {
            Routes = routes.Select(route => new PriorityRoute { Pattern = route.Pattern, Priority = route.Priority }).ToList(),
        }));

    [Theory]
    [InlineData("urgent.page", TaskPriority.High)]
    [InlineData("urgent.", TaskPriority.High)]
    [InlineData("batch.nightly.reindex", TaskPriority.Low)]
    [InlineData("report-7", TaskPriority.Low)]
    [InlineData("report-77", TaskPriority.Default)]
    [InlineData("xurgent.page", TaskPriority.Default)]
    [InlineData("urgent", TaskPriority.Default)]
    public void Route_NoRequestedPriority_FirstMatchingGlobWins(string name, TaskPriority expected)
    {
        var router = CreateRouter(("urgent.*", "high"), ("batch.*", "low"), ("report-?", "low"), ("*", "default"));

        Assert.Equal(expected, router.Route(requested: null, name));
    }

    [Fact]
    public void Route_RequestedPriority_IgnoresRules()
    {
        var router = CreateRouter(("*", "low"));

        Assert.Equal(TaskPriority.High, router.Route(TaskPriority.High, "anything"));
    }

    [Fact]
    public void Route_NoNameNoRules_IsDefault()
    {
        Assert.Equal(TaskPriority.Default, CreateRouter().Route(requested: null, name: null));
    }

    [Fact]
    public void Route_DotInPattern_IsLiteral()
    {
        var router = CreateRouter(("a.b", "high"));

        Assert.Equal(TaskPriority.Default, router.Route(null, "axb"));
        Assert.Equal(TaskPriority.High, router.Route(null, "a.b"));
    }

    [Fact]
    public void Constructor_UnknownPriority_ThrowsNamingSetting()
    {
        var exception = Assert.Throws<InvalidOperationException>(() => CreateRouter(("x.*", "urgent")));

        Assert.Contains("Queues:Routes", exception.Message, StringComparison.Ordinal);
        Assert.Contains("'urgent'", exception.Message, StringComparison.Ordinal);
    }
}

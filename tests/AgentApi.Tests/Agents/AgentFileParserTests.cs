using AgentApi.Agents;
using AgentApi.Agents.Files;
using AgentApi.Agents.Tools;

namespace AgentApi.Tests.Agents;

/// <summary>Front matter and field rules of <see cref="AgentFileParser"/>, on file text built in the test.</summary>
public sealed class AgentFileParserTests
{
    private const string Source = "/agents/reviewer.md";
    private static readonly string[] Models = ["Default", "Fast"];

    [Fact]
    public void TryParse_EveryField_ReadsDefinition()
    {
        var text = """
            ---
            name: reviewer
            description: Reviews a change for bugs.
            tools: [read_file, grep, bash]
            disallowedTools: bash
            model: fast
            maxTurns: 12
            color: blue
            ---

            You review code.

            Report each bug with its file and line.
            """;

        var definition = Parse(text);

        Assert.Equal("reviewer", definition.Name);
        Assert.Equal("Reviews a change for bugs.", definition.Description);
        Assert.Equal(["read_file", "grep", "bash"], definition.Tools);
        Assert.Equal(["bash"], definition.DisallowedTools);
        Assert.Equal("Fast", definition.Model);
        Assert.Equal(12, definition.MaxTurns);
        Assert.Equal("You review code.\n\nReport each bug with its file and line.", definition.SystemPrompt);
        Assert.Equal(Source, definition.Source);
    }

    [Fact]
    public void TryParse_OnlyRequiredFields_UsesDefaults()
    {
        var definition = Parse("---\nname: minimal\ndescription: Does little.\n---\nBe brief.\n");

        Assert.Null(definition.Tools);
        Assert.Empty(definition.DisallowedTools);
        Assert.Equal(AgentCatalog.InheritModel, definition.Model);
        Assert.Null(definition.MaxTurns);
        Assert.Equal("Be brief.", definition.SystemPrompt);
    }

    [Fact]
    public void TryParse_CrlfLineEndings_ReadsSameAsLf()
    {
        var text = "---\r\nname: crlf\r\ndescription: Windows line endings.\r\ntools:\r\n  - read_file\r\n  - glob\r\n---\r\nLine one.\r\nLine two.\r\n";

        var definition = Parse(text);

        Assert.Equal("crlf", definition.Name);
        Assert.Equal("Windows line endings.", definition.Description);
        Assert.Equal(["read_file", "glob"], definition.Tools);
        Assert.Equal("Line one.\nLine two.", definition.SystemPrompt);
    }

    [Fact]
    public void TryParse_ByteOrderMark_IsIgnored()
    {
        var definition = Parse("\uFEFF---\nname: bom\ndescription: Starts with a BOM.\n---\nPrompt.");

        Assert.Equal("bom", definition.Name);
    }

    [Theory]
    [InlineData("tools: [read_file, grep]")]
    [InlineData("tools:\n  - read_file\n  - grep")]
    [InlineData("tools: read_file, grep")]
    [InlineData("tools: \"read_file,grep\"")]
    [InlineData("tools: ' read_file ,, grep , read_file'")]
    public void TryParse_ToolsAsListOrString_ReadsSameTools(string toolsLine)
    {
        var definition = Parse($"---\nname: tools\ndescription: Tool forms.\n{toolsLine}\n---\nPrompt.");

        Assert.Equal(["read_file", "grep"], definition.Tools);
    }

    [Theory]
    [InlineData("tools:")]
    [InlineData("tools: ~")]
    [InlineData("tools: null")]
    public void TryParse_ToolsNull_AllowsEveryTool(string toolsLine)
    {
        var definition = Parse($"---\nname: tools\ndescription: Null tools.\n{toolsLine}\n---\nPrompt.");

        Assert.Null(definition.Tools);
        Assert.All(ToolNames.All, tool => Assert.True(definition.Allows(tool), tool));
    }

    [Fact]
    public void TryParse_EmptyToolList_AllowsNoTool()
    {
        var definition = Parse("---\nname: none\ndescription: No tools.\ntools: []\n---\nPrompt.");

        Assert.NotNull(definition.Tools);
        Assert.Empty(definition.Tools);
        Assert.DoesNotContain(ToolNames.All, definition.Allows);
    }

    [Fact]
    public void TryParse_DisallowedToolsAsList_TakesThemFromEveryTool()
    {
        var definition = Parse("---\nname: safe\ndescription: No shell.\ndisallowedTools:\n  - bash\n  - web_fetch\n---\nPrompt.");

        Assert.Null(definition.Tools);
        Assert.Equal(["bash", "web_fetch"], definition.DisallowedTools);
        Assert.False(definition.Allows(ToolNames.Bash));
        Assert.True(definition.Allows(ToolNames.ReadFile));
    }

    [Theory]
    [InlineData("inherit")]
    [InlineData("Inherit")]
    [InlineData("")]
    public void TryParse_InheritOrNoModel_Inherits(string model)
    {
        var definition = Parse($"---\nname: m\ndescription: Model.\nmodel: {model}\n---\nPrompt.");

        Assert.Equal(AgentCatalog.InheritModel, definition.Model);
    }

    [Theory]
    [InlineData("default", "Default")]
    [InlineData("FAST", "Fast")]
    public void TryParse_ConfiguredModelAnyCase_UsesConfiguredSpelling(string model, string expected)
    {
        var definition = Parse($"---\nname: m\ndescription: Model.\nmodel: {model}\n---\nPrompt.");

        Assert.Equal(expected, definition.Model);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("1000", 1000)]
    [InlineData("'25'", 25)]
    public void TryParse_MaxTurnsInRange_IsRead(string value, int expected)
    {
        var definition = Parse($"---\nname: t\ndescription: Turns.\nmaxTurns: {value}\n---\nPrompt.");

        Assert.Equal(expected, definition.MaxTurns);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("agent-2")]
    [InlineData("code-reviewer")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void TryParse_ValidName_IsAccepted(string name)
    {
        var definition = Parse($"---\nname: {name}\ndescription: Name.\n---\nPrompt.");

        Assert.Equal(name, definition.Name);
    }

    public static TheoryData<string, string> BrokenFiles => new()
    {
        { "name: x\ndescription: no fences\n", "its first line must be '---'" },
        { "\n---\nname: x\ndescription: blank first line\n---\nPrompt.", "its first line must be '---'" },
        { "---\nname: x\ndescription: never closed\nPrompt.", "the front matter is not closed" },
        { "---\nname: x\ndescription: [unclosed\n---\nPrompt.", "the front matter is not valid YAML at line" },
        { "---\nname: x\n  description: bad indent\n---\nPrompt.", "the front matter is not valid YAML at line 3" },
        { "---\n---\nPrompt.", "the front matter is empty" },
        { "---\n# only a comment\n---\nPrompt.", "the front matter is empty" },
        { "---\n- name\n- description\n---\nPrompt.", "must be a YAML mapping" },
        { "---\njust text\n---\nPrompt.", "must be a YAML mapping" },
        { "---\nname: x\nname: y\ndescription: d\n---\nPrompt.", "sets 'name' more than once" },
        { "---\ndescription: d\n---\nPrompt.", "'name' is missing" },
        { "---\nname: ''\ndescription: d\n---\nPrompt.", "'name' is missing" },
        { "---\nname: x\n---\nPrompt.", "'description' is missing" },
        { "---\nname: x\ndescription: '   '\n---\nPrompt.", "'description' is missing" },
        { "---\nname: x\ndescription: [a, b]\n---\nPrompt.", "'description' must be a single string, not a list" },
        { "---\nname: Reviewer\ndescription: d\n---\nPrompt.", "'name' 'Reviewer' is invalid" },
        { "---\nname: code_reviewer\ndescription: d\n---\nPrompt.", "'name' 'code_reviewer' is invalid" },
        { "---\nname: -lead\ndescription: d\n---\nPrompt.", "'name' '-lead' is invalid" },
        { "---\nname: has space\ndescription: d\n---\nPrompt.", "'name' 'has space' is invalid" },
        { $"---\nname: {new string('a', 65)}\ndescription: d\n---\nPrompt.", "is invalid: use 1 to 64 lowercase letters" },
        { "---\nname: x\ndescription: d\ntools: [read_file, Read]\n---\nPrompt.", "'tools' names unknown tools 'Read'; known tools: ask_agent, bash" },
        { "---\nname: x\ndescription: d\ndisallowedTools: rm\n---\nPrompt.", "'disallowedTools' names unknown tools 'rm'" },
        { "---\nname: x\ndescription: d\ntools: {read_file: true}\n---\nPrompt.", "'tools' must be a list of tool names or a comma-separated string, not a mapping" },
        { "---\nname: x\ndescription: d\ntools: [[read_file]]\n---\nPrompt.", "not a list with empty or nested items" },
        { "---\nname: x\ndescription: d\ntools:\n  - read_file\n  -\n---\nPrompt.", "not a list with empty or nested items" },
        { "---\nname: x\ndescription: d\nmodel: gpt-9\n---\nPrompt.", "'model' names unknown model 'gpt-9'; use 'inherit' or a model configured under Models: Default, Fast" },
        { "---\nname: x\ndescription: d\nmodel: [fast]\n---\nPrompt.", "'model' must be a single model name, not a list" },
        { "---\nname: x\ndescription: d\nmaxTurns: 0\n---\nPrompt.", "'maxTurns' must be a whole number from 1 to 1000; got '0'" },
        { "---\nname: x\ndescription: d\nmaxTurns: 1001\n---\nPrompt.", "got '1001'" },
        { "---\nname: x\ndescription: d\nmaxTurns: -3\n---\nPrompt.", "got '-3'" },
        { "---\nname: x\ndescription: d\nmaxTurns: 2.5\n---\nPrompt.", "got '2.5'" },
        { "---\nname: x\ndescription: d\nmaxTurns: ten\n---\nPrompt.", "got 'ten'" },
        { "---\nname: x\ndescription: d\nmaxTurns: 99999999999999999999\n---\nPrompt.", "got '99999999999999999999'" },
        { "---\nname: x\ndescription: d\nmaxTurns: [5]\n---\nPrompt.", "got a list" },
        { "---\nname: &n x\ndescription: *n\n---\nPrompt.", "'description' must be a single string, not a YAML alias" },
        { "---\nname: x\ndescription: d\n---\n", "the system prompt is empty" },
        { "---\nname: x\ndescription: d\n---\n  \n\n", "the system prompt is empty" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void TryParse_BrokenFile_ReturnsReason(string text, string expectedReason)
    {
        var parsed = AgentFileParser.TryParse(text, Source, Models, out var definition, out var reason);

        Assert.False(parsed);
        Assert.Null(definition);
        Assert.NotNull(reason);
        Assert.Contains(expectedReason, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_SeveralProblems_ReportsEach()
    {
        var parsed = AgentFileParser.TryParse("---\nname: Bad\nmaxTurns: 0\n---\n", Source, Models, out _, out var reason);

        Assert.False(parsed);
        Assert.Contains("'name' 'Bad' is invalid", reason, StringComparison.Ordinal);
        Assert.Contains("'description' is missing", reason, StringComparison.Ordinal);
        Assert.Contains("'maxTurns' must be a whole number", reason, StringComparison.Ordinal);
        Assert.Contains("the system prompt is empty", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tools")]
    [InlineData("color")]
    public void TryParse_DeeplyNestedValue_StopsAtNestingLimit(string key)
    {
        var nested = new string('[', 100_000) + new string(']', 100_000);
        var started = TimeProvider.System.GetTimestamp();

        var parsed = AgentFileParser.TryParse($"---\nname: x\ndescription: d\n{key}: {nested}\n---\nPrompt.", Source, Models, out _, out var reason);

        Assert.False(parsed);
        Assert.Equal("the front matter nests lists and mappings more than 32 levels deep at line 4", reason);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(2), "the nesting limit did not stop the parser early");
    }

    [Fact]
    public void TryParse_LongBadValue_QuotesItShortened()
    {
        var longModel = new string('m', 500);

        AgentFileParser.TryParse($"---\nname: x\ndescription: d\nmodel: {longModel}\n---\nPrompt.", Source, Models, out _, out var reason);

        Assert.NotNull(reason);
        Assert.Contains(new string('m', 64) + "…", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('m', 65), reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_FenceWithTrailingSpaces_IsAFence()
    {
        var definition = Parse("---  \nname: x\ndescription: d\n---\t\nPrompt.");

        Assert.Equal("Prompt.", definition.SystemPrompt);
    }

    [Fact]
    public void TryParse_RuleInBody_StaysInPrompt()
    {
        var definition = Parse("---\nname: x\ndescription: d\n---\nFirst part.\n\n---\n\nSecond part.\n");

        Assert.Equal("First part.\n\n---\n\nSecond part.", definition.SystemPrompt);
    }

    [Fact]
    public void TryParse_MultilineDescription_IsFolded()
    {
        var definition = Parse("---\nname: x\ndescription: >\n  Reviews code\n  for bugs.\n---\nPrompt.");

        Assert.Equal("Reviews code for bugs.", definition.Description);
    }

    private static AgentDefinition Parse(string text)
    {
        var parsed = AgentFileParser.TryParse(text, Source, Models, out var definition, out var reason);

        Assert.True(parsed, reason);
        return definition!;
    }
}

using AgentApi.Heartbeat;

namespace AgentApi.Tests.Heartbeat;

public sealed class HeartbeatRulesTests
{
    private static readonly string Narration300 = new('x', 300);
    private static readonly string Narration301 = new('x', 301);

    [Theory]
    [InlineData("HEARTBEAT_OK", true)]
    [InlineData("  HEARTBEAT_OK\n", true)]
    [InlineData("**HEARTBEAT_OK**", true)]
    [InlineData("_HEARTBEAT_OK_", true)]
    [InlineData("`HEARTBEAT_OK`", true)]
    [InlineData("HEARTBEAT_OK.", true)]
    [InlineData("**HEARTBEAT_OK**!", true)]
    [InlineData("Checked the disk and the queue, all fine. HEARTBEAT_OK", true)]
    [InlineData("HEARTBEAT_OK - nothing new since the last check.", true)]
    [InlineData("All fine HEARTBEAT_OK but the disk is full", false)]
    [InlineData("HEARTBEAT_OKAY", false)]
    [InlineData("NOT_HEARTBEAT_OK", false)]
    [InlineData("The disk /var is 95% full.", false)]
    [InlineData("", false)]
    [InlineData("heartbeat_ok", false)]
    public void IsOk_Reply_MatchesTheTokenRule(string reply, bool ok) => Assert.Equal(ok, HeartbeatReply.IsOk(reply));

    [Fact]
    public void IsOk_TokenWithAtMost300OtherCharacters_IsOk()
    {
        Assert.True(HeartbeatReply.IsOk("HEARTBEAT_OK " + Narration300));
        Assert.True(HeartbeatReply.IsOk(Narration300 + " HEARTBEAT_OK"));
    }

    [Fact]
    public void IsOk_TokenWith301OtherCharacters_IsNotOk()
    {
        Assert.False(HeartbeatReply.IsOk("HEARTBEAT_OK " + Narration301));
        Assert.False(HeartbeatReply.IsOk(Narration301 + " HEARTBEAT_OK"));
    }

    [Theory]
    [InlineData("30m", 1_800)]
    [InlineData("1h30m", 5_400)]
    [InlineData("45s", 45)]
    [InlineData("2d", 172_800)]
    [InlineData("PT30M", 1_800)]
    [InlineData("pt1h", 3_600)]
    [InlineData("0", 0)]
    public void Duration_ValidText_Parses(string text, int seconds)
    {
        Assert.True(HeartbeatDuration.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("m")]
    [InlineData("30m1h")]
    [InlineData("-5m")]
    [InlineData("")]
    [InlineData("PT")]
    [InlineData("1 h")]
    public void Duration_InvalidText_IsRejected(string text) => Assert.False(HeartbeatDuration.TryParse(text, out _));

    [Theory]
    [InlineData(5_400, "1h30m")]
    [InlineData(1_800, "30m")]
    [InlineData(86_401, "1d1s")]
    [InlineData(0, "0")]
    public void Duration_Format_IsShortForm(int seconds, string text) =>
        Assert.Equal(text, HeartbeatDuration.Format(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData("2026-06-01T21:30:00Z", true)]
    [InlineData("2026-06-01T23:59:00Z", true)]
    [InlineData("2026-06-02T03:59:00Z", true)]
    [InlineData("2026-06-02T04:00:00Z", false)]
    [InlineData("2026-06-01T19:59:00Z", false)]
    [InlineData("2026-06-01T20:00:00Z", true)]
    public void ActiveHours_WindowPastMidnight_ContainsStartButNotEnd(string instant, bool inside)
    {
        // 22:00 to 06:00 in Berlin is 20:00 to 04:00 UTC in summer.
        var window = new ActiveHours(new TimeOnly(22, 0), new TimeOnly(6, 0), TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));

        Assert.Equal(inside, window.Contains(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void ActiveHours_NextStart_IsTheWindowsNextOpening()
    {
        var window = new ActiveHours(new TimeOnly(22, 0), new TimeOnly(6, 0), TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));

        var fromNoon = window.NextStart(DateTimeOffset.Parse("2026-06-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var fromInside = window.NextStart(DateTimeOffset.Parse("2026-06-01T21:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(DateTimeOffset.Parse("2026-06-01T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture), fromNoon);
        Assert.Equal(DateTimeOffset.Parse("2026-06-02T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture), fromInside);
    }

    [Fact]
    public void ActiveHours_StartInDaylightSavingGap_OpensAfterTheGap()
    {
        // New York skips 02:00 to 03:00 on 2026-03-08, so a 02:30 start opens at 03:00 EDT (07:00 UTC).
        var window = new ActiveHours(new TimeOnly(2, 30), new TimeOnly(4, 0), TimeZoneInfo.FindSystemTimeZoneById("America/New_York"));

        var opens = window.NextStart(DateTimeOffset.Parse("2026-03-08T05:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(DateTimeOffset.Parse("2026-03-08T07:00:00Z", System.Globalization.CultureInfo.InvariantCulture), opens);
    }

    [Fact]
    public void ActiveHours_EqualStartAndEnd_IsTheWholeDay()
    {
        var window = new ActiveHours(new TimeOnly(9, 0), new TimeOnly(9, 0), TimeZoneInfo.Utc);

        Assert.True(window.Contains(DateTimeOffset.Parse("2026-06-01T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("# Heartbeat\n\n## Checks\n", false)]
    [InlineData("", false)]
    [InlineData("# Heartbeat\n- check the disk\n", true)]
    public void Checklist_HasContent_IgnoresHeadingsAndBlankLines(string text, bool hasContent) =>
        Assert.Equal(hasContent, HeartbeatChecklist.HasContent(text));
}

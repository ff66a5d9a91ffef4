namespace AgentApi.Tasks;

internal static class Timestamps
{
    /// <summary>Truncates <paramref name="value"/> to a whole multiple of <paramref name="resolution"/>, keeping its offset.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value, TimeSpan resolution) =>
        new(value.Ticks - (value.Ticks % resolution.Ticks), value.Offset);
}

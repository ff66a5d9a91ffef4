using System.Collections.Frozen;
using System.Text.Json;

namespace AgentApi.Tasks;

/// <summary>
/// Maps an enum to the snake_case names used in the API, the database and the logs
/// (<c>TimedOut</c> is <c>timed_out</c>), so the same thing has the same name everywhere.
/// </summary>
public static class WireNames<TEnum>
    where TEnum : struct, Enum
{
    private static readonly FrozenDictionary<TEnum, string> NamesByValue =
        Enum.GetValues<TEnum>().ToFrozenDictionary(
            value => value,
            value => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()));

    private static readonly FrozenDictionary<string, TEnum> ValuesByName =
        NamesByValue.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <summary>Every wire name, in declaration order, for error messages.</summary>
    public static IReadOnlyList<string> All { get; } =
        Enum.GetValues<TEnum>().Select(value => NamesByValue[value]).ToArray();

    public static string ToName(TEnum value) => NamesByValue[value];

    public static bool TryParse(string? name, out TEnum value) =>
        ValuesByName.TryGetValue(name ?? string.Empty, out value);

    public static TEnum Parse(string name) =>
        ValuesByName.TryGetValue(name, out var value)
            ? value
            : throw new FormatException($"'{name}' is not one of {string.Join(", ", All)}.");
}

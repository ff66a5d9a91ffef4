namespace AgentApi.Agents.Files;

/// <summary>The value of one top-level key in an agent file's front matter.</summary>
/// <param name="Kind">What the YAML value is.</param>
/// <param name="Text">The scalar's text, set only when <paramref name="Kind"/> is <see cref="FrontMatterValueKind.Scalar"/>.</param>
/// <param name="Items">The items of a list of scalars, set only when <paramref name="Kind"/> is <see cref="FrontMatterValueKind.List"/>.</param>
/// <param name="Entries">The keys and values of a mapping of scalars, set only for such a <see cref="FrontMatterValueKind.Mapping"/>.</param>
internal sealed record FrontMatterValue(
    FrontMatterValueKind Kind,
    string? Text,
    IReadOnlyList<string>? Items,
    IReadOnlyList<KeyValuePair<string, string>>? Entries = null)
{
    public static readonly FrontMatterValue Null = new(FrontMatterValueKind.Null, Text: null, Items: null);

    public static FrontMatterValue Scalar(string text) => new(FrontMatterValueKind.Scalar, text, Items: null);

    public static FrontMatterValue List(IReadOnlyList<string> items) => new(FrontMatterValueKind.List, Text: null, items);

    public static FrontMatterValue Mapping(IReadOnlyList<KeyValuePair<string, string>> entries) =>
        new(FrontMatterValueKind.Mapping, Text: null, Items: null, entries);

    public static FrontMatterValue Other(FrontMatterValueKind kind) => new(kind, Text: null, Items: null);
}

namespace AgentApi.Agents.Files;

/// <summary>The YAML shape of a front matter value, as far as agent files care.</summary>
internal enum FrontMatterValueKind
{
    /// <summary>No value, <c>~</c> or <c>null</c>: the same as leaving the key out.</summary>
    Null,

    /// <summary>A string, number or other single value.</summary>
    Scalar,

    /// <summary>A list whose items are all scalars.</summary>
    List,

    /// <summary>A list with an empty item, or a list or mapping as an item.</summary>
    ComplexList,

    /// <summary>A mapping of keys to values.</summary>
    Mapping,

    /// <summary>A YAML alias such as <c>*name</c>, which agent files do not support.</summary>
    Alias,
}

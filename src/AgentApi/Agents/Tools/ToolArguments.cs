using System.Text.Json;

namespace AgentApi.Agents.Tools;

/// <summary>Reads tool call arguments. A missing or mistyped argument is a <c>invalid_argument</c> <see cref="ToolException"/>.</summary>
internal static class ToolArguments
{
    public static string GetRequiredString(JsonElement arguments, string name)
    {
        var value = GetOptionalString(arguments, name);
        return value ?? throw new ToolException("invalid_argument", $"The argument '{name}' is required and must be a string.");
    }

    public static string? GetOptionalString(JsonElement arguments, string name)
    {
        if (!TryGetProperty(arguments, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new ToolException("invalid_argument", $"The argument '{name}' must be a string.");
    }

    /// <summary>Reads a whole number from <paramref name="min"/> to <paramref name="max"/>, or null when absent.</summary>
    public static int? GetOptionalInt(JsonElement arguments, string name, int min, int max)
    {
        if (!TryGetProperty(arguments, name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min || number > max)
        {
            throw new ToolException("invalid_argument", $"The argument '{name}' must be a whole number from {min} to {max}.");
        }

        return number;
    }

    public static bool GetOptionalBool(JsonElement arguments, string name, bool defaultValue)
    {
        if (!TryGetProperty(arguments, name, out var value))
        {
            return defaultValue;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ToolException("invalid_argument", $"The argument '{name}' must be true or false."),
        };
    }

    /// <summary>Finds an argument. A JSON null counts as absent, and so does every argument when the call sent none.</summary>
    private static bool TryGetProperty(JsonElement arguments, string name, out JsonElement value)
    {
        value = default;
        if (arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return false;
        }

        if (arguments.ValueKind != JsonValueKind.Object)
        {
            throw new ToolException("invalid_argument", "The arguments must be a JSON object.");
        }

        return arguments.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }
}

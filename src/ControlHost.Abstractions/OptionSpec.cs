namespace ControlHost.Abstractions;

/// <summary>The kind of value an option takes.</summary>
public enum OptionKind
{
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A real number.</summary>
    Number,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>Free text.</summary>
    Text,
}

/// <summary>
/// One option of a condition type, declared so that the CLI, the HTTP API and the web page can list and validate
/// it without knowing the plugin.
/// </summary>
/// <param name="Name">The key users write, e.g. "low_threshold".</param>
/// <param name="Kind">The value's kind.</param>
/// <param name="Default">The value used when the user gives none.</param>
/// <param name="Min">The smallest allowed value (numbers only).</param>
/// <param name="Max">The largest allowed value (numbers only).</param>
/// <param name="Help">One line for users.</param>
public sealed record OptionSpec(string Name, OptionKind Kind, string Default, double? Min, double? Max, string Help)
{
    /// <summary>Checks one textual value; returns null when valid, else the reason.</summary>
    public string? Validate(string value)
    {
        switch (Kind)
        {
            case OptionKind.Integer:
                if (!long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i))
                    return $"'{value}' is not a whole number";
                return CheckRange(i);
            case OptionKind.Number:
                if (!double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                    return $"'{value}' is not a number";
                return CheckRange(d);
            case OptionKind.Boolean:
                return bool.TryParse(value, out _) ? null : $"'{value}' is not true or false";
            default:
                return null;
        }
    }

    private string? CheckRange(double v)
    {
        if (Min is { } lo && v < lo) return $"{v} is below the minimum {lo}";
        if (Max is { } hi && v > hi) return $"{v} is above the maximum {hi}";
        return null;
    }
}

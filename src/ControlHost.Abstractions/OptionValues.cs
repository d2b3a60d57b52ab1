using System.Globalization;

namespace ControlHost.Abstractions;

/// <summary>Validated option values of one unit, with the declared defaults filled in. Each value is parsed once, when
/// resolved, into its declared kind (whole number, number, true/false, text); the getters hand back the parsed value.</summary>
public sealed class OptionValues
{
    private readonly Dictionary<string, string> _text;
    private readonly Dictionary<string, object> _typed;

    private OptionValues(Dictionary<string, string> text, Dictionary<string, object> typed) => (_text, _typed) = (text, typed);

    /// <summary>Every value as text, keyed by option name.</summary>
    public IReadOnlyDictionary<string, string> All => _text;

    /// <summary>
    /// Checks <paramref name="given"/> against <paramref name="specs"/> and fills in defaults.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown option or an invalid value (a given one, or a declared default that
    /// does not fit its own declaration); the message names it.</exception>
    public static OptionValues Resolve(IReadOnlyList<OptionSpec> specs, IReadOnlyDictionary<string, string>? given)
    {
        var text = specs.ToDictionary(s => s.Name, s => s.Default, StringComparer.OrdinalIgnoreCase);
        var from = specs.ToDictionary(s => s.Name, _ => "declared default", StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in given ?? new Dictionary<string, string>())
        {
            var spec = specs.FirstOrDefault(s => string.Equals(s.Name, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException(
                    $"unknown option '{key}' (known: {(specs.Count == 0 ? "none" : string.Join(", ", specs.Select(s => s.Name)))})");
            text[spec.Name] = value;
            from[spec.Name] = "value";
        }
        var typed = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var spec in specs)
        {
            var value = text[spec.Name];
            if (spec.Validate(value) is { } problem)
                throw new ArgumentException(from[spec.Name] == "value"
                    ? $"option '{spec.Name}': {problem}"
                    : $"option '{spec.Name}': its declared default {problem} (a fault of the plugin that declares it)");
            typed[spec.Name] = Parse(spec.Kind, value);
        }
        return new OptionValues(text, typed);
    }

    private static object Parse(OptionKind kind, string value) => kind switch
    {
        OptionKind.Integer => long.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture),
        OptionKind.Number => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
        OptionKind.Boolean => bool.Parse(value),
        _ => value,
    };

    /// <summary>An integer option.</summary>
    /// <exception cref="ArgumentException">The option is not a whole number, or is outside the range of an int.</exception>
    public int GetInt(string name) => Typed(name) switch
    {
        long v when v is >= int.MinValue and <= int.MaxValue => (int)v,
        long v => throw new ArgumentException($"option '{name}': {v} is too large"),
        var other => throw WrongKind(name, other, "a whole number"),
    };

    /// <summary>A number option (a whole-number option reads as a number too).</summary>
    public double GetDouble(string name) => Typed(name) switch
    {
        double v => v,
        long v => v,
        var other => throw WrongKind(name, other, "a number"),
    };

    /// <summary>A boolean option.</summary>
    public bool GetBool(string name) => Typed(name) is bool v ? v : throw WrongKind(name, Typed(name), "true or false");

    /// <summary>An option as text.</summary>
    public string Get(string name) =>
        _text.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"option '{name}' is not declared");

    private object Typed(string name) =>
        _typed.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"option '{name}' is not declared");

    private static ArgumentException WrongKind(string name, object value, string wanted) =>
        new($"option '{name}' is declared as {value switch { long => "a whole number", double => "a number", bool => "true or false", _ => "text" }}, not {wanted}");
}

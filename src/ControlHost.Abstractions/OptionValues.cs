using System.Globalization;

namespace ControlHost.Abstractions;

/// <summary>Validated option values of one unit, with the declared defaults filled in.</summary>
public sealed class OptionValues
{
    private readonly Dictionary<string, string> _values;

    private OptionValues(Dictionary<string, string> values) => _values = values;

    /// <summary>Every value as text, keyed by option name.</summary>
    public IReadOnlyDictionary<string, string> All => _values;

    /// <summary>
    /// Checks <paramref name="given"/> against <paramref name="specs"/> and fills in defaults.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown option or an invalid value; the message names it.</exception>
    public static OptionValues Resolve(IReadOnlyList<OptionSpec> specs, IReadOnlyDictionary<string, string>? given)
    {
        var values = specs.ToDictionary(s => s.Name, s => s.Default, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in given ?? new Dictionary<string, string>())
        {
            var spec = specs.FirstOrDefault(s => string.Equals(s.Name, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException(
                    $"unknown option '{key}' (known: {(specs.Count == 0 ? "none" : string.Join(", ", specs.Select(s => s.Name)))})");
            if (spec.Validate(value) is { } problem)
                throw new ArgumentException($"option '{spec.Name}': {problem}");
            values[spec.Name] = value;
        }
        return new OptionValues(values);
    }

    /// <summary>An integer option.</summary>
    public int GetInt(string name) => int.Parse(Get(name), CultureInfo.InvariantCulture);

    /// <summary>A number option.</summary>
    public double GetDouble(string name) => double.Parse(Get(name), CultureInfo.InvariantCulture);

    /// <summary>A boolean option.</summary>
    public bool GetBool(string name) => bool.Parse(Get(name));

    /// <summary>An option as text.</summary>
    public string Get(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"option '{name}' is not declared");
}
